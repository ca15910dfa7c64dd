import { signedHeaders } from './slack-requests';

/** What one request to the bot got back; `status: 'timeout'` when no answer came in time. */
export interface FuzzAnswer {
  status: number | 'timeout' | 'error';
  text: string;
  ms: number;
}

export interface RawRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * POSTs a request and never waits longer than `timeoutMs` for its answer: a hang is a
 * result (`'timeout'`), not a test that stalls until Jest gives up.
 */
export async function postWithin(url: string, request: RawRequest, timeoutMs: number): Promise<FuzzAnswer> {
  const started = performance.now();
  try {
    const res = await fetch(`${url}${request.path}`, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    return { status: res.status, text, ms: performance.now() - started };
  } catch (err) {
    const name = (err as Error).name;
    const status = name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'error';
    return { status, text: (err as Error).message, ms: performance.now() - started };
  }
}

/** A signed request to /slack/events with the given body and content type (Slack's form type by default). */
export function signedSlackRequest(
  body: string,
  secret: string,
  options: { contentType?: string; timestamp?: number } = {},
): RawRequest {
  const headers = signedHeaders(body, secret, options.timestamp);
  if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  return { path: '/slack/events', headers, body };
}

/** `payload=<json>`, form-encoded, as Slack sends interactions. */
export function payloadForm(payload: unknown): string {
  return new URLSearchParams({
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  }).toString();
}

/** mulberry32: a small seeded generator, so a failing fuzz run can be replayed from its seed. */
export class Random {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** A string of `length` characters drawn from `alphabet` (code points, so astral ones stay whole). */
  string(length: number, alphabet: string): string {
    const chars = [...alphabet];
    let out = '';
    for (let i = 0; i < length; i += 1) out += this.pick(chars);
    return out;
  }
}

/** The seed of this run: FUZZ_SEED when set, otherwise `fallback`. */
export function fuzzSeed(fallback: number): number {
  const given = process.env.FUZZ_SEED;
  if (given === undefined || given === '') return fallback;
  const seed = Number(given);
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got '${given}'`);
  return seed;
}

/** Runs `task` over `items` with at most `concurrency` at a time, in order of index. */
export async function inPool<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
