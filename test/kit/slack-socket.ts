import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { waitForRecorded } from '../../sandbox/recorded';
import type { SimulatedSlack } from '../../sandbox/slack-api';
import { buttonClickBody, slashCommandBody, type ButtonClick, type SlashCommand } from './slack-requests';
import { waitFor } from './wait';

/**
 * Slack's side of Socket Mode, as the bot meets it: `apps.connections.open` (app-level token,
 * through SLACK_API_URL) answers a single-use `ws://` URL; on it the server says `hello`,
 * sends envelopes `{envelope_id, type, payload, accepts_response_payload}` and takes the
 * acknowledgements `{envelope_id, payload?}`. Like Slack, it spreads envelopes over the app's
 * open connections, one connection each, and delivers an envelope that was not acknowledged
 * again on another (or the next) connection when its connection goes. It can ask a
 * connection to go (`disconnect`, refresh_requested), drop one, and send raw frames.
 *
 * Every other Web API call is passed on to the SimulatedSlack behind it, so the bot has one
 * SLACK_API_URL, as with real Slack.
 */

/** A slash command as Slack sends it over the socket: the form's fields as a JSON object. */
export function slashCommandPayload(command: SlashCommand): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(slashCommandBody(command)));
}

/** A button click (block_actions) as Slack sends it over the socket: the form's `payload`, parsed. */
export function buttonClickPayload(click: ButtonClick): Record<string, unknown> {
  return JSON.parse(new URLSearchParams(buttonClickBody(click)).get('payload')!) as Record<string, unknown>;
}

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export interface Delivery {
  envelopeId: string;
  type: EnvelopeType;
  connection: number;
  /** 0 for the first delivery, then 1, 2… (Slack's retry_attempt). */
  attempt: number;
  at: number;
}

export interface SocketAck {
  envelopeId: string;
  connection: number;
  /** Milliseconds since the envelope's latest delivery. */
  afterMs: number;
  payload?: Record<string, unknown>;
  /** An ack for an envelope already acknowledged (or never sent). */
  extra: boolean;
}

interface Connection {
  id: number;
  ws: WebSocket;
  ready: boolean;
}

interface Pending {
  envelopeId: string;
  type: EnvelopeType;
  frame: Record<string, unknown>;
  firstAt: number;
  attempts: number;
  /** The connection it was last delivered on; undefined while it waits for one. */
  connection?: number;
  resolve(ack: SocketAck): void;
}

export interface SlackSocketServerOptions {
  appToken?: string;
  appId?: string;
  /** The simulated Web API behind this one, for every method but apps.connections.open. */
  upstream?: SimulatedSlack;
  /** How long a connection asked to go may stay before it is closed from this side (Slack: ~10 s). */
  disconnectGraceMs?: number;
}

export class SlackSocketServer extends EventEmitter {
  readonly appToken: string;
  readonly appId: string;
  readonly upstream?: SimulatedSlack;
  readonly deliveries: Delivery[] = [];
  readonly acks: SocketAck[] = [];
  /** Every apps.connections.open call, answered or failed. */
  readonly opens: Array<{ at: number; ok: boolean; error?: string }> = [];
  /** Every frame a client sent that was not an ack this server could read. */
  readonly strayFrames: string[] = [];
  private readonly connections = new Map<number, Connection>();
  private readonly pending = new Map<string, Pending>();
  private readonly tickets = new Set<string>();
  private readonly failures: Array<{ status: number; error: string }> = [];
  private readonly wss = new WebSocketServer({ noServer: true, clientTracking: false });
  private readonly timers = new Set<NodeJS.Timeout>();
  private server?: Server;
  private nextConnection = 1;
  private turn = 0;

  constructor(private readonly options: SlackSocketServerOptions = {}) {
    super();
    // A fuzz test waits for dozens of acks at once, each waiter removed once it is met:
    // many listeners here are not a leak.
    this.setMaxListeners(0);
    this.appToken = options.appToken ?? 'xapp-1-A0AZORA-1-sandbox';
    this.appId = options.appId ?? 'A0AZORA';
    this.upstream = options.upstream;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** The SLACK_API_URL to give the bot. */
  get apiUrl(): string {
    return `${this.origin}/api/`;
  }

  /** Ids of the connections that said hello and are still open. */
  get openConnections(): number[] {
    return [...this.connections.values()].filter((c) => c.ready).map((c) => c.id);
  }

  /** The next `times` apps.connections.open calls fail: HTTP `status` (500: the client retries), or 200 with `error`. */
  failNextOpens(times: number, failure: { status?: number; error?: string } = {}): void {
    for (let i = 0; i < times; i += 1)
      this.failures.push({ status: failure.status ?? 500, error: failure.error ?? 'internal_error' });
  }

  /** Resolves once `count` connections are open (said hello), with their ids. */
  waitForConnections(count: number, timeoutMs = 15_000): Promise<number[]> {
    return waitFor(
      () => this.openConnections,
      (open) => open.length >= count,
      { timeoutMs, intervalMs: 20, what: `${count} Socket Mode connection(s)` },
    );
  }

  /**
   * Sends an envelope to one open connection (the next in turn, or `to`), or to the first to
   * open; resolves with its first acknowledgement, however many deliveries that took.
   */
  send(
    type: EnvelopeType,
    payload: unknown,
    options: { acceptsResponsePayload?: boolean; to?: number; envelopeId?: string; thenDrop?: boolean } = {},
  ): { envelopeId: string; acked: Promise<SocketAck> } {
    const envelopeId = options.envelopeId ?? randomUUID();
    let resolve!: (ack: SocketAck) => void;
    const acked = new Promise<SocketAck>((r) => (resolve = r));
    const pending: Pending = {
      envelopeId,
      type,
      frame: {
        envelope_id: envelopeId,
        type,
        payload,
        accepts_response_payload: options.acceptsResponsePayload ?? type !== 'events_api',
      },
      firstAt: Date.now(),
      attempts: 0,
      resolve,
    };
    this.pending.set(envelopeId, pending);
    this.deliver(pending, options.to, options.thenDrop);
    return { envelopeId, acked };
  }

  /** Sends a slash command (see slashCommandPayload). */
  slashCommand(command: SlashCommand, options: { to?: number } = {}) {
    const payload = slashCommandPayload(command);
    return { ...this.send('slash_commands', payload, { acceptsResponsePayload: true, ...options }), payload };
  }

  /** Sends a button click (see buttonClickPayload). */
  buttonClick(click: ButtonClick, options: { to?: number } = {}) {
    const payload = buttonClickPayload(click);
    return { ...this.send('interactive', payload, { acceptsResponsePayload: false, ...options }), payload };
  }

  /** Sends a frame as it is (malformed ones included) on a connection. */
  sendRaw(connection: number, text: string): void {
    this.connections.get(connection)?.ws.send(text);
  }

  /** Asks a connection to go, as Slack does before recycling it; closes it after the grace period. */
  disconnect(connection: number, reason = 'refresh_requested'): void {
    const conn = this.connections.get(connection);
    if (!conn) return;
    conn.ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-sim' } }));
    this.later(this.options.disconnectGraceMs ?? 10_000, () => conn.ws.terminate());
  }

  /** Drops a connection without a word, as a network failure would. */
  drop(connection: number): void {
    this.connections.get(connection)?.ws.terminate();
  }

  /** Sends a frame, then drops the connection as soon as it is written: the envelope reaches the bot, its ack cannot. */
  sendThenDrop(
    type: EnvelopeType,
    payload: unknown,
    connection: number,
  ): { envelopeId: string; acked: Promise<SocketAck> } {
    return this.send(type, payload, { to: connection, thenDrop: true });
  }

  /** How many times each envelope was delivered, and acknowledged. */
  tally(envelopeId: string): { deliveries: number; acks: number } {
    return {
      deliveries: this.deliveries.filter((d) => d.envelopeId === envelopeId).length,
      acks: this.acks.filter((a) => a.envelopeId === envelopeId).length,
    };
  }

  waitForAck(test: (ack: SocketAck) => boolean, timeoutMs = 10_000): Promise<SocketAck> {
    return waitForRecorded(this, 'ack', this.acks, test, timeoutMs, 'Socket Mode server');
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const { ws } of this.connections.values()) ws.terminate();
    this.connections.clear();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    if (url.pathname !== '/api/apps.connections.open') return this.forward(req, res, url);
    req.resume();
    const failure = this.failures.shift();
    if (failure) {
      this.opens.push({ at: Date.now(), ok: false, error: failure.error });
      res.writeHead(failure.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: failure.error }));
      return;
    }
    if (req.headers.authorization !== `Bearer ${this.appToken}`) {
      this.opens.push({ at: Date.now(), ok: false, error: 'invalid_auth' });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: 'invalid_auth' }));
      return;
    }
    const ticket = randomUUID();
    this.tickets.add(ticket);
    this.opens.push({ at: Date.now(), ok: true });
    const wsUrl = `ws://127.0.0.1:${(this.server!.address() as AddressInfo).port}/link/?ticket=${ticket}&app_id=${this.appId}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, url: wsUrl }));
  }

  /** Any other Web API method: to the simulated workspace behind, as it came. */
  private forward(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (!this.upstream || !url.pathname.startsWith('/api/')) {
      res.writeHead(404).end();
      return;
    }
    const target = new URL(url.pathname.slice('/api/'.length) + url.search, this.upstream.apiUrl);
    const proxied = request(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    proxied.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(proxied);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', this.origin);
    const ticket = url.searchParams.get('ticket') ?? '';
    if (url.pathname !== '/link/' || !this.tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws));
  }

  private connected(ws: WebSocket): void {
    const conn: Connection = { id: this.nextConnection++, ws, ready: false };
    this.connections.set(conn.id, conn);
    ws.on('message', (data: Buffer) => this.received(conn, data.toString('utf8')));
    ws.on('error', () => undefined);
    ws.on('close', () => this.closed(conn));
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.connections.size,
        debug_info: { host: 'applink-sim', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.appId },
      }),
    );
    conn.ready = true;
    this.emit('connection', conn.id);
    // Envelopes that lost their connection, or never had one, go out now.
    for (const pending of this.pending.values()) if (pending.connection === undefined) this.deliver(pending);
  }

  private received(conn: Connection, text: string): void {
    let frame: { envelope_id?: unknown; payload?: unknown };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      this.strayFrames.push(text);
      return;
    }
    if (typeof frame.envelope_id !== 'string') {
      this.strayFrames.push(text);
      return;
    }
    const pending = this.pending.get(frame.envelope_id);
    const delivered = this.deliveries.filter((d) => d.envelopeId === frame.envelope_id).at(-1);
    const ack: SocketAck = {
      envelopeId: frame.envelope_id,
      connection: conn.id,
      afterMs: delivered ? Date.now() - delivered.at : 0,
      ...(frame.payload && typeof frame.payload === 'object'
        ? { payload: frame.payload as Record<string, unknown> }
        : {}),
      extra: !pending,
    };
    this.acks.push(ack);
    if (pending) {
      this.pending.delete(pending.envelopeId);
      pending.resolve(ack);
    }
    this.emit('ack', ack);
  }

  private closed(conn: Connection): void {
    this.connections.delete(conn.id);
    this.emit('close', conn.id);
    for (const pending of this.pending.values()) {
      if (pending.connection !== conn.id) continue;
      pending.connection = undefined;
      this.deliver(pending);
    }
  }

  /** `thenDrop`: the connection is dropped as soon as the frame is written. */
  private deliver(pending: Pending, to?: number, thenDrop = false): void {
    const open = [...this.connections.values()].filter((c) => c.ready && c.ws.readyState === 1);
    const conn =
      to !== undefined ? open.find((c) => c.id === to) : open[this.turn++ % Math.max(1, open.length)];
    if (!conn) return;
    pending.connection = conn.id;
    const attempt = pending.attempts++;
    this.deliveries.push({
      envelopeId: pending.envelopeId,
      type: pending.type,
      connection: conn.id,
      attempt,
      at: Date.now(),
    });
    const frame =
      attempt === 0 ? pending.frame : { ...pending.frame, retry_attempt: attempt, retry_reason: 'timeout' };
    conn.ws.send(JSON.stringify(frame), thenDrop ? () => conn.ws.terminate() : undefined);
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }
}
