import { z } from 'zod';
import { errorCode } from './http/error-code';

const DEFAULT_TIMEOUT_MS = 10_000;
/** A range query for a few series is kilobytes; megabytes mean thousands of series, never drawn. */
const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;

export type PrometheusErrorKind =
  'unreachable' | 'timeout' | 'http' | 'query' | 'no-data' | 'not-vector' | 'too-large' | 'bad-answer';

/** A failed query, with one short line saying why: it ends up in a Slack thread as `no graph: …`. */
export class PrometheusError extends Error {
  override readonly name = 'PrometheusError';
  constructor(
    readonly kind: PrometheusErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface PrometheusOptions {
  /** Base URL, path prefix included (`http://prometheus:9090`, `https://x/prometheus`); user:password in it is basic auth. */
  url: string;
  bearerToken?: string;
  username?: string;
  password?: string;
  /** Deadline of one query, Prometheus' own evaluation timeout included. */
  timeoutMs?: number;
  maxBytes?: number;
}

export interface RangeQuery {
  query: string;
  /** ms */
  start: number;
  end: number;
  step: number;
}

/** One series of the answer: its labels, and its samples as (ms, value) with NaN and ±Inf kept. */
export interface PrometheusSeries {
  labels: Record<string, string>;
  points: Array<[number, number]>;
}

/** What the graphs need of Prometheus. */
export interface RangeQueryPort {
  queryRange(query: RangeQuery): Promise<PrometheusSeries[]>;
}

const answerSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.object({ resultType: z.string(), result: z.unknown() }),
  }),
  z.object({
    status: z.literal('error'),
    errorType: z.string().default('error'),
    error: z.string().default(''),
  }),
]);

const matrixSchema = z.array(
  z.object({
    metric: z.record(z.string(), z.string()),
    values: z.array(z.tuple([z.number(), z.string()])),
  }),
);

/** Prometheus writes non-finite values as `NaN`, `+Inf` and `-Inf`, which Number() reads only in part. */
function sampleValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

const oneLine = (text: string, max = 200): string => {
  const line = text.trim().replace(/\s+/g, ' ');
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
};

/** Range queries over Prometheus' HTTP API (`/api/v1/query_range`), with a deadline and a size cap. */
export class PrometheusClient implements RangeQueryPort {
  private readonly endpoint: string;
  private readonly authorization?: string;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;

  constructor(options: PrometheusOptions) {
    const url = new URL(options.url);
    let username = options.username;
    let password = options.password;
    // Undici refuses URLs with credentials in them: they become a header.
    if (url.username || url.password) {
      username ??= decodeURIComponent(url.username);
      password ??= decodeURIComponent(url.password);
      url.username = '';
      url.password = '';
    }
    this.endpoint = `${url.toString().replace(/\/+$/, '')}/api/v1/query_range`;
    if (options.bearerToken) this.authorization = `Bearer ${options.bearerToken}`;
    else if (username !== undefined && username !== '')
      this.authorization = `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  }

  async queryRange(query: RangeQuery): Promise<PrometheusSeries[]> {
    // A form body rather than the query string: rule expressions can be longer than a URL may be.
    const form = new URLSearchParams({
      query: query.query,
      start: String(query.start / 1000),
      end: String(query.end / 1000),
      step: `${Math.max(1, Math.round(query.step / 1000))}s`,
      // Prometheus stops evaluating by then too, rather than working on for nobody.
      timeout: `${Math.max(1, Math.floor(this.timeoutMs / 1000))}s`,
    });
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
    };
    if (this.authorization) headers.authorization = this.authorization;
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.endpoint, {
        method: 'POST',
        headers,
        body: form.toString(),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await this.readCapped(res);
    } catch (err) {
      if (err instanceof PrometheusError) throw err;
      throw this.networkError(err);
    }
    return this.parse(res.status, text);
  }

  private async readCapped(res: Response): Promise<string> {
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > this.maxBytes) throw this.tooLarge();
    if (!res.body) return '';
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > this.maxBytes) {
        // The rest is never read: the connection is let go.
        await reader.cancel().catch(() => undefined);
        throw this.tooLarge();
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private tooLarge(): PrometheusError {
    return new PrometheusError(
      'too-large',
      `Prometheus' answer is over ${Math.round(this.maxBytes / 1024 / 1024)} MB: the expression returns too many series`,
    );
  }

  private parse(status: number, text: string): PrometheusSeries[] {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const answer = answerSchema.safeParse(body);
    if (!answer.success) {
      if (status < 200 || status >= 300)
        throw new PrometheusError('http', `Prometheus answered ${status}`, status);
      throw new PrometheusError(
        'bad-answer',
        `Prometheus answered ${status} with something that is not its API`,
        status,
      );
    }
    if (answer.data.status === 'error') {
      const { error, errorType } = answer.data;
      const type = /invalid expression type "([^"]+)" for range query/.exec(error)?.[1];
      if (type) throw new PrometheusError('not-vector', `not a range vector (${type})`, status);
      throw new PrometheusError('query', `query error: ${oneLine(error)} (${errorType})`, status);
    }
    const { resultType, result } = answer.data.data;
    if (resultType !== 'matrix')
      throw new PrometheusError('not-vector', `not a range vector (${resultType})`);
    const matrix = matrixSchema.safeParse(result);
    if (!matrix.success)
      throw new PrometheusError('bad-answer', 'Prometheus answered a matrix of an unexpected shape');
    if (matrix.data.length === 0) throw new PrometheusError('no-data', 'no data');
    return matrix.data.map((series) => ({
      labels: series.metric,
      points: series.values.map(([at, value]): [number, number] => [
        Math.round(at * 1000),
        sampleValue(value),
      ]),
    }));
  }

  private networkError(err: unknown): PrometheusError {
    // A deadline's DOMException is not `instanceof Error` under Jest's realms: read its name.
    const name = (err as { name?: unknown } | null)?.name;
    const code = errorCode(err);
    if (name === 'TimeoutError' || name === 'AbortError' || code === 'ETIMEDOUT')
      return new PrometheusError('timeout', `Prometheus did not answer within ${this.timeoutMs / 1000} s`);
    const reason = code ?? (err instanceof Error ? oneLine(err.message, 80) : 'no connection');
    return new PrometheusError('unreachable', `Prometheus is unreachable (${reason})`);
  }
}
