import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLarge, readBody } from '../../src/kernel/http/body';

/** Alertmanager's answers: a JSON string for its own errors, `{ code, message }` for validation. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(typeof body === 'string' ? body : (JSON.stringify(body) ?? `HTTP ${status}`));
  }
}

const BODY_LIMIT = 256 * 1024;

/** A request body as JSON; `what` names it in the 400 Alertmanager gives for bad JSON. */
export async function readJson(req: IncomingMessage, what: string): Promise<unknown> {
  let raw: string;
  try {
    raw = (await readBody(req, BODY_LIMIT)).toString('utf8');
  } catch (err) {
    if (err instanceof BodyTooLarge)
      throw new ApiError(413, { code: 413, message: 'request body too large' });
    throw err;
  }
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw new ApiError(400, { code: 400, message: `parsing ${what} body failed: ${(err as Error).message}` });
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}
