import { LogLevel, SocketModeReceiver, type App, type ReceiverEvent } from '@slack/bolt';
import type { Logger as SlackLogger } from '@slack/logger';
import { ConfigError } from '../config/errors';
import type { Logger } from '../kernel/log';
import type { Metrics } from '../kernel/metrics';
import { checkSocketFrame } from './slack-shape';

/**
 * Slack over Socket Mode: Bolt's SocketModeReceiver (an `apps.connections.open` call with the
 * app-level token through SLACK_API_URL, then a WebSocket on which Slack sends envelopes and
 * the bot acknowledges them), with what the bot adds around it:
 *
 * - every frame is screened before the socket client parses it (see checkSocketFrame): a
 *   malformed envelope is acknowledged (so Slack does not send it again) and logged, never
 *   dereferenced, never re-emitted as one of the client's own events;
 * - an acknowledgement that cannot be sent (the connection closed under a listener) is
 *   logged, not thrown into the listener: the listener goes on and queues its work, and
 *   when Slack delivers the envelope again the replay check (user + trigger_id / action_ts)
 *   answers it with an empty ack. So an envelope caught by a reconnect runs once;
 * - apps.connections.open is retried for as long as it takes, at most 30 s apart, rather
 *   than the client's 100 retries growing by 1.3× (hours apart by then) and then giving up;
 * - the connection's state, for /readyz;
 * - a stop that lets the envelopes in hand finish their ack before the socket closes.
 */

type SocketClient = SocketModeReceiver['client'];

/** The socket client's own frame handler and its send, which the screen needs (see guardSocket). */
interface ClientInternals {
  send(envelopeId: string, body?: Record<string, unknown>): Promise<void>;
}
type FrameListener = (data: unknown, isBinary: boolean) => unknown;

/** Retries of apps.connections.open (p-retry's options, as @slack/web-api passes them on). */
const OPEN_RETRIES = {
  forever: true,
  factor: 1.5,
  minTimeout: 1_000,
  maxTimeout: 30_000,
  randomize: true,
  // A retry pending at shutdown holds nothing open.
  unref: true,
};

/** How long a start waits for its first connection; after that it goes on and the socket keeps trying. */
export const FIRST_CONNECTION_WAIT_MS = 10_000;

export type SocketState = 'connecting' | 'connected' | 'disconnected' | 'stopped' | 'failed';

/** The connection as /readyz reports it. */
export class SocketLink {
  private state: SocketState = 'connecting';
  private since: number;
  private detail?: string;
  /** Connections made so far (1 after the first hello). */
  connections = 0;

  constructor(private readonly now: () => number) {
    this.since = now();
  }

  get current(): SocketState {
    return this.state;
  }

  set(state: SocketState, detail?: string): void {
    if (state === this.state && detail === undefined) return;
    if (state !== this.state) this.since = this.now();
    this.state = state;
    this.detail = detail;
    if (state === 'connected') this.connections += 1;
  }

  /** Undefined while connected; otherwise what is wrong, for /readyz. */
  problem(): string | undefined {
    if (this.state === 'connected') return undefined;
    const since = new Date(this.since).toISOString();
    return `Socket Mode ${this.state}${this.detail ? ` (${this.detail})` : ''} since ${since}`;
  }
}

export interface SocketReceiverOptions {
  appToken: string;
  slackApiUrl?: string;
  /** Bolt's and the socket client's logger (slackLogger). */
  slackLogger: SlackLogger;
  logger: Logger;
}

export interface SocketReceiver {
  receiver: SocketModeReceiver;
  link: SocketLink;
  /** After this, a pending apps.connections.open retry waits for ever instead of opening a socket. */
  halt(): void;
}

export function createSocketReceiver(options: SocketReceiverOptions, now: () => number): SocketReceiver {
  let halted = false;
  const receiver = new SocketModeReceiver({
    appToken: options.appToken,
    logger: options.slackLogger,
    logLevel: LogLevel.WARN,
    installerOptions: {
      clientOptions: {
        ...(options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {}),
        retryConfig: OPEN_RETRIES,
        fetch: (input, init) => (halted ? new Promise<Response>(() => undefined) : fetch(input, init)),
      },
    },
  });
  const link = new SocketLink(now);
  trackState(receiver.client, link, options.logger);
  reportFailedReconnects(receiver.client, link, options.logger);
  return {
    receiver,
    link,
    halt: () => {
      halted = true;
    },
  };
}

/** The client's lifecycle events (its README's), and `close`, which it emits when the socket closes under it. */
function trackState(client: SocketClient, link: SocketLink, logger: Logger): void {
  client.on('connected', () => {
    link.set('connected');
    logger.info({ connections: link.connections }, 'connected to Slack over Socket Mode');
  });
  client.on('close', () => {
    if (link.current === 'stopped') return;
    const wasConnected = link.current === 'connected';
    link.set('disconnected', 'reconnecting');
    if (wasConnected) logger.warn('the Slack socket closed; reconnecting');
  });
  client.on('reconnecting', () => link.set('connecting', 'reconnecting'));
  client.on('disconnected', () => {
    if (link.current !== 'failed') link.set('stopped');
  });
}

/**
 * The client reconnects by calling its own start() again and leaves the promise unobserved;
 * one that fails (an app token revoked meanwhile: invalid_auth) would be an unhandled
 * rejection and a socket that silently stays down. The first start is the caller's to
 * observe (connectSocket); later ones are logged here, and /readyz says `failed`.
 */
function reportFailedReconnects(client: SocketClient, link: SocketLink, logger: Logger): void {
  const start = client.start.bind(client);
  let first = true;
  client.start = () => {
    const started = start();
    if (first) {
      first = false;
      return started;
    }
    return started.catch((err: unknown) => {
      link.set('failed', (err as Error).message);
      logger.error(
        { err: (err as Error).message },
        'Slack refused the Socket Mode reconnection; the socket stays down',
      );
      return new Promise<never>(() => undefined);
    });
  };
}

export interface SocketGuard {
  /** Resolves once no envelope is being processed, or after `ms`. */
  idle(ms: number): Promise<void>;
}

/**
 * Screens every frame before the socket client sees it, keeps acknowledgements from
 * throwing into listeners, acknowledges an envelope whose processing failed, and counts the
 * envelopes in hand. Call after the listeners and ackUnclaimed are in place.
 */
export function guardSocket(
  socket: SocketReceiver,
  app: App,
  options: { logger: Logger; metrics: Metrics },
): SocketGuard {
  const client = socket.receiver.client;
  const internals = client as unknown as Partial<ClientInternals>;
  const frameListeners = client.listeners('ws_message') as FrameListener[];
  // Both are @slack/socket-mode internals (3.1): a version without them must fail here, loudly.
  if (frameListeners.length !== 1 || typeof internals.send !== 'function') {
    throw new Error(
      '@slack/socket-mode no longer has the ws_message event or send(): review src/web/socket-mode.ts',
    );
  }
  const [parse] = frameListeners as [FrameListener];
  const send = internals.send.bind(client);
  const { logger, metrics } = options;

  client.removeAllListeners('ws_message');
  client.on('ws_message', (data: unknown, isBinary: boolean) => {
    // Binary frames: the client ignores them itself.
    if (isBinary || typeof data !== 'string') {
      void Promise.resolve(parse(data, isBinary)).catch(() => undefined);
      return;
    }
    const check = checkSocketFrame(data);
    if (check.ok && check.kind === 'control' && check.type === 'disconnect') {
      const reason = reasonOf(data);
      socket.link.set('disconnected', `Slack asked: ${reason}`);
      logger.info({ reason }, 'Slack asked for a new socket; reconnecting');
    }
    if (check.ok && check.kind !== 'ack') {
      Promise.resolve(parse(data, isBinary)).catch((err: unknown) =>
        logger.error({ err: (err as Error).message }, 'the Slack socket client failed on a frame'),
      );
      return;
    }
    if (check.ok) {
      logger.warn({ type: check.type }, 'Slack sent an envelope with nothing to route; acknowledged it');
    } else {
      metrics.slackRequests.inc({ kind: 'malformed', outcome: 'refused' });
      logger.warn(
        { reason: check.reason, envelope: check.envelopeId, bytes: data.length },
        check.envelopeId
          ? 'refused a malformed Slack envelope; acknowledged it so Slack does not send it again'
          : 'ignored a malformed Slack frame',
      );
    }
    if (check.envelopeId) {
      send(check.envelopeId).catch((err: unknown) =>
        logger.warn({ err: (err as Error).message }, 'could not acknowledge a refused Slack envelope'),
      );
    }
  });

  let inHand = 0;
  let whenIdle: Array<() => void> = [];
  const processEvent = app.processEvent.bind(app);
  app.processEvent = async (event: ReceiverEvent) => {
    let acknowledged = false;
    const ack = async (response?: unknown) => {
      acknowledged = true;
      try {
        await event.ack(response);
      } catch (err) {
        logger.warn(
          { err: (err as Error).message },
          'could not acknowledge a Slack envelope (its connection closed); Slack sends it again and the replay check answers it',
        );
      }
    };
    inHand += 1;
    try {
      await processEvent({ ...event, ack });
    } catch (err) {
      // Bolt failing before any listener ran: acknowledged, or Slack would send it again and again.
      logger.error({ err: (err as Error).message }, 'Bolt could not process a Slack envelope');
      if (!acknowledged) await ack();
    } finally {
      inHand -= 1;
      if (inHand === 0) {
        const waiting = whenIdle;
        whenIdle = [];
        waiting.forEach((resolve) => resolve());
      }
    }
  };

  return {
    idle: (ms) =>
      inHand === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, ms);
            whenIdle.push(() => {
              clearTimeout(timer);
              resolve();
            });
          }),
  };
}

function reasonOf(frame: string): string {
  const reason = (JSON.parse(frame) as { reason?: unknown }).reason;
  return typeof reason === 'string' ? reason.slice(0, 80) : 'no reason given';
}

/**
 * Starts the socket and waits for its first connection, up to FIRST_CONNECTION_WAIT_MS. An
 * app token Slack refuses (invalid_auth, …) fails the start, as a bad bot token does; Slack
 * out of reach does not: the start goes on, the socket keeps trying, /readyz says so.
 */
export async function connectSocket(socket: SocketReceiver, logger: Logger): Promise<void> {
  const started = socket.receiver.start();
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<'waiting'>((resolve) => {
    timer = setTimeout(() => resolve('waiting'), FIRST_CONNECTION_WAIT_MS);
  });
  let outcome: 'connected' | 'waiting';
  try {
    outcome = await Promise.race([started.then(() => 'connected' as const), waited]);
  } catch (err) {
    socket.link.set('failed', (err as Error).message);
    throw new ConfigError(
      `environment SLACK_APP_TOKEN: Slack refused the Socket Mode connection (${(err as Error).message}); an app-level token with connections:write is needed`,
    );
  } finally {
    clearTimeout(timer);
  }
  if (outcome === 'waiting') {
    logger.warn(
      { waitedMs: FIRST_CONNECTION_WAIT_MS },
      'no Socket Mode connection yet; still trying in the background (/readyz says so)',
    );
    started.catch((err: unknown) => {
      socket.link.set('failed', (err as Error).message);
      logger.error({ err: (err as Error).message }, 'Slack refused the Socket Mode connection');
    });
  }
}

/** Ends the socket: the client's close handshake, bounded. */
export async function disconnectSocket(socket: SocketReceiver, ms: number): Promise<void> {
  socket.halt();
  socket.link.set('stopped');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    socket.receiver.client.disconnect(),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
