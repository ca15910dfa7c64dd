import type { ConfigurationOptions, ObservableMiddleware } from '@kubernetes/client-node';
import { ApiException, Observable } from './client-node';
import { callOptions } from './clients';
import { onceMoreIfCut } from './connections';
import { toKubeError } from './translate-error';

/** What one GET through the API server's proxy came back with: 0 when no HTTP answer did. */
export interface ProbeAnswer {
  status: number;
  detail: string;
}

/** Details are for a Slack line: the start of the body, or of the error. */
export const PROBE_DETAIL_CHARS = 200;

const short = (text: string) => text.trim().slice(0, PROBE_DETAIL_CHARS);

/** A body as text: client-node hands JSON answers over parsed, others as strings. */
function bodyText(body: unknown): string {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  try {
    return JSON.stringify(body);
  } catch {
    return String(body);
  }
}

/** The message of a Kubernetes Status (the API server's own refusal), else the body itself. */
function errorDetail(body: unknown, status: number): string {
  const text = bodyText(body);
  try {
    const parsed = JSON.parse(text) as { kind?: unknown; message?: unknown };
    if (parsed.kind === 'Status' && typeof parsed.message === 'string') return short(parsed.message);
  } catch {
    // not JSON: the app's own text
  }
  return short(text) || `HTTP ${status}`;
}

/**
 * Sends one proxied GET and reports the status the far side answered, whatever it was: a
 * probe's result is the answer, not an exception. The status is taken from the response
 * itself (a middleware sees it before client-node parses the body), so an answer whose body
 * client-node cannot read still counts; 0 means nothing came back (refused, timed out).
 */
export async function probe(
  timeoutMs: number,
  what: string,
  send: (options: ConfigurationOptions) => Promise<unknown>,
): Promise<ProbeAnswer> {
  let answered = 0;
  const base = callOptions(timeoutMs);
  const capture: ObservableMiddleware = {
    pre: (context) => new Observable(Promise.resolve(context)),
    post: (response) => {
      answered = response.httpStatusCode;
      return new Observable(Promise.resolve(response));
    },
  };
  const options: ConfigurationOptions = {
    ...base,
    middleware: [...((base.middleware ?? []) as ObservableMiddleware[]), capture],
  };
  try {
    const body = await onceMoreIfCut(() => send(options));
    return { status: answered || 200, detail: short(bodyText(body)) };
  } catch (err) {
    if (err instanceof ApiException) return { status: err.code, detail: errorDetail(err.body, err.code) };
    if (answered)
      return { status: answered, detail: short(err instanceof Error ? err.message : String(err)) };
    return { status: 0, detail: short(toKubeError(err, what).message) };
  }
}
