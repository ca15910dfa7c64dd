import {
  HTTPModuleFunctions,
  type App,
  type BufferedIncomingMessage,
  type HTTPReceiver,
  type ReceiverEvent,
  type ReceiverProcessEventErrorHandlerArgs,
} from '@slack/bolt';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../kernel/http/json';
import type { Logger } from '../kernel/log';
import type { Metrics } from '../kernel/metrics';
import { checkSlackBody } from './slack-shape';

/** Bolt's own limit, named so that the receiver and the gate in front of it read the same amount. */
export const SLACK_BODY_LIMIT = HTTPModuleFunctions.defaultBodyLimit;

export interface SlackGateOptions {
  signingSecret: string;
  /** The receiver's Slack endpoints (Bolt's default: /slack/events). */
  endpoints: string[];
  bodyLimit: number;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Every signed Slack request answered at once, whatever its body. Three hooks, all public:
 *
 * - the receiver's `requestListener`, wrapped: a POST to a Slack endpoint is read and its
 *   signature verified with Bolt's own `parseAndVerifyHTTPRequest`, which leaves the body on
 *   `req.rawBody`, where Bolt's second read finds it. A body Bolt cannot route (see
 *   slack-shape.ts) is refused with 400 and one log line; anything else, a bad signature
 *   included, goes on to Bolt unchanged, so its 401 and its routing stay as they are;
 * - `app.processEvent`, wrapped: a request no listener acknowledged (a command, button or
 *   view the bot does not know) is acknowledged as soon as the listeners are done, rather
 *   than by Bolt's 404 after its 3-second timer;
 * - `processEventErrorHandler` (pass it to the receiver): Bolt failing on a body before any
 *   listener ran answers 400, not a 500 that Slack would retry.
 *
 * The ack path gains a second HMAC and a second parse of a small body: no I/O.
 */
export function guardSlackEndpoint(receiver: HTTPReceiver, app: App, options: SlackGateOptions): void {
  const bolt = receiver.requestListener;
  receiver.requestListener = (req, res) => {
    if (req.method?.toUpperCase() !== 'POST' || !options.endpoints.includes(pathOf(req) ?? '')) {
      return bolt(req, res);
    }
    screen(req, res, options)
      .then((pass) => {
        if (pass) bolt(req, res);
      })
      .catch((err: unknown) => {
        options.logger.error({ err: (err as Error).message }, 'could not screen a Slack request');
        if (!res.headersSent) sendJson(res, 400, { error: 'this Slack request could not be processed' });
      });
  };
  ackUnclaimed(app, options);
}

/** Bolt's processEventErrorHandler: Bolt itself threw on a body; answer 400 once, log it. */
export function answerUnprocessable(
  logger: Logger,
): (args: ReceiverProcessEventErrorHandlerArgs) => Promise<boolean> {
  return async ({ error, response }) => {
    const code = 'code' in error ? error.code : undefined;
    logger.error({ err: error.message, code }, 'Bolt could not process a Slack request');
    if (response.headersSent) return false;
    sendJson(response, 400, { error: 'this Slack request could not be processed' });
    // Tells the receiver the request is answered, which stops its 3-second timer.
    return true;
  };
}

function pathOf(req: IncomingMessage): string | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    // Bolt's router fails on it the same way, and answers as it always has.
    return undefined;
  }
}

/** Reads and verifies the request; answers it when Bolt could not; resolves to whether Bolt should have it. */
async function screen(
  req: IncomingMessage,
  res: ServerResponse,
  options: SlackGateOptions,
): Promise<boolean> {
  let buffered: BufferedIncomingMessage;
  try {
    buffered = await HTTPModuleFunctions.parseAndVerifyHTTPRequest(
      { enabled: true, signingSecret: options.signingSecret, bodyLimit: options.bodyLimit },
      req,
    );
  } catch (err) {
    // The stream is spent: Bolt could not read the body again, so the answer is given here, as Bolt would.
    if (HTTPModuleFunctions.isRawBodyError(err)) {
      const tooLarge = err.type === 'entity.too.large' || err.statusCode === 413;
      options.logger.warn({ err: err.message }, 'could not read a Slack request body');
      res.writeHead(tooLarge ? 413 : 400);
      res.end();
      return false;
    }
    // A missing, wrong or stale signature: Bolt checks again on the buffered body and answers 401.
    return true;
  }
  const check = checkSlackBody(buffered.rawBody.toString(), req.headers['content-type']);
  if (!check.ok) {
    options.metrics.slackRequests.inc({ kind: 'malformed', outcome: 'refused' });
    options.logger.warn(
      { reason: check.reason, contentType: req.headers['content-type'], bytes: buffered.rawBody.length },
      'refused a malformed Slack request',
    );
    sendJson(res, 400, { error: `malformed Slack request: ${check.reason}` });
    return false;
  }
  if (check.kind === 'ack') {
    options.logger.warn({ type: check.type }, 'Slack sent a notice with nothing to route; acknowledged it');
    res.writeHead(200);
    res.end();
    return false;
  }
  return true;
}

/**
 * Acknowledges, once the listeners are done, every request none of them acknowledged; for
 * either receiver (over HTTP and in Socket Mode alike).
 */
export function ackUnclaimed(app: App, options: Pick<SlackGateOptions, 'logger' | 'metrics'>): void {
  const processEvent = app.processEvent.bind(app);
  app.processEvent = async (event: ReceiverEvent) => {
    let acknowledged = false;
    await processEvent({
      ...event,
      ack: (response?: unknown) => {
        acknowledged = true;
        return event.ack(response);
      },
    });
    if (acknowledged) return;
    const request = describe(event.body);
    options.metrics.slackRequests.inc({ kind: 'unclaimed', outcome: 'acknowledged' });
    options.logger.info(request, 'no listener took a Slack request; acknowledged it');
    try {
      await event.ack();
    } catch (err) {
      // Bolt's timer answered first: a listener took over 3 s and never acknowledged.
      options.logger.warn(
        { ...request, err: (err as Error).message },
        'could not acknowledge a Slack request',
      );
    }
  };
}

/** What a request was, for a log line: short strings only, whatever the body holds. */
function describe(body: Record<string, unknown>): Record<string, string> {
  const first = Array.isArray(body.actions) ? (body.actions[0] as unknown) : undefined;
  const fields: Record<string, unknown> = {
    command: body.command,
    type: body.type,
    action: first && typeof first === 'object' ? (first as Record<string, unknown>).action_id : undefined,
    event:
      body.event && typeof body.event === 'object' ? (body.event as Record<string, unknown>).type : undefined,
  };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields))
    if (typeof value === 'string') out[key] = value.slice(0, 80);
  return out;
}
