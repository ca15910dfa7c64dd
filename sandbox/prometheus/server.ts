import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { BodyTooLarge, readBody } from '../../src/kernel/http/body';
import type { Logger } from '../../src/kernel/log';
import { evaluate, type SeriesSource } from './evaluate';
import { parseQuery, QueryError, type Query } from './promql';
import { closeNow, listenOnLoopback } from '../loopback';

/**
 * Prometheus' query API (`/api/v1/query_range` and `/api/v1/query`, GET or POST with a
 * form) over the sandbox's simulated series, answered in Prometheus' JSON: the same
 * envelope, result types, parameter parsing and `bad_data` errors (status 400), so the
 * bot's PrometheusClient cannot tell it from the real one for the queries it makes.
 */

export interface PrometheusApiOptions {
  source: SeriesSource;
  clock?: () => number;
  logger?: Logger;
  /** 0 (the default) for any free port. */
  port?: number;
}

/** Prometheus' own cap on a range query. */
const MAX_POINTS = 11_000;
const BODY_LIMIT = 1024 * 1024;
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const DURATION_MS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1_000, 1];

class BadData extends Error {
  constructor(message: string) {
    super(message);
  }
}

/** Prometheus' parseTime: Unix seconds (with a fraction) or RFC 3339; ms. */
export function parseTime(name: string, raw: string | undefined): number {
  const text = raw ?? '';
  if (/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/.test(text)) return Math.round(Number(text) * 1000);
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const ms = Date.parse(text);
    if (Number.isFinite(ms)) return ms;
  }
  throw new BadData(`invalid parameter "${name}": cannot parse "${text}" to a valid timestamp`);
}

/** Prometheus' parseDuration: seconds (with a fraction) or a duration like `1m30s`; ms. */
export function parseDuration(name: string, raw: string | undefined): number {
  const text = raw ?? '';
  if (/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/.test(text)) return Math.round(Number(text) * 1000);
  const match = text ? DURATION.exec(text) : null;
  if (match) return DURATION_MS.reduce((sum, unit, i) => sum + Number(match[i + 1] ?? 0) * unit, 0);
  throw new BadData(`invalid parameter "${name}": cannot parse "${text}" to a valid duration`);
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64), which Prometheus writes sample values with. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const text = String(v);
  if (!/e/i.test(text)) return text;
  // Exponent notation only for very small or very large numbers: written out in full instead.
  return Math.abs(v) >= 1
    ? BigInt(Math.round(v)).toString()
    : v.toFixed(20).replace(/0+$/, '').replace(/\.$/, '');
}

function query(params: URLSearchParams): Query {
  try {
    return parseQuery(params.get('query') ?? '');
  } catch (err) {
    if (err instanceof QueryError) throw new BadData(`invalid parameter "query": ${err.message}`);
    throw err;
  }
}

export class PrometheusApi {
  private readonly server: Server;
  private readonly clock: () => number;
  private boundPort = 0;

  constructor(private readonly options: PrometheusApiOptions) {
    this.clock = options.clock ?? Date.now;
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  async start(): Promise<this> {
    this.boundPort = await listenOnLoopback(this.server, this.options.port);
    return this;
  }

  async stop(): Promise<void> {
    await closeNow(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://prometheus');
    try {
      switch (url.pathname) {
        case '/-/healthy':
          return text(res, 200, 'Prometheus Server is Healthy.\n');
        case '/-/ready':
          return text(res, 200, 'Prometheus Server is Ready.\n');
        case '/graph': {
          // An alert's generatorURL: there is no graph page here, so the expression's value now instead.
          const expr = url.searchParams.get('g0.expr') ?? '';
          res.writeHead(302, { location: `/api/v1/query?query=${encodeURIComponent(expr)}` });
          return void res.end();
        }
        case '/api/v1/query_range':
        case '/api/v1/query': {
          if (req.method !== 'GET' && req.method !== 'POST') {
            res.writeHead(405, { allow: 'GET, POST' });
            return void res.end();
          }
          const params = await this.params(req, url);
          const data = url.pathname.endsWith('_range') ? this.range(params) : this.instant(params);
          return json(res, 200, { status: 'success', data });
        }
        default:
          return text(res, 404, '404 page not found\n');
      }
    } catch (err) {
      if (err instanceof BadData) {
        this.options.logger?.debug({ url: req.url, err: err.message }, 'sandbox Prometheus: bad query');
        return json(res, 400, { status: 'error', errorType: 'bad_data', error: err.message });
      }
      this.options.logger?.error({ err: (err as Error).message }, 'sandbox Prometheus: query failed');
      return json(res, 500, { status: 'error', errorType: 'internal', error: (err as Error).message });
    }
  }

  /** The URL's parameters, and a POSTed form's, as Prometheus merges them. */
  private async params(req: IncomingMessage, url: URL): Promise<URLSearchParams> {
    const params = new URLSearchParams(url.search);
    if (req.method !== 'POST') return params;
    let body: Buffer;
    try {
      body = await readBody(req, BODY_LIMIT);
    } catch (err) {
      if (err instanceof BodyTooLarge) throw new BadData('request body too large');
      throw err;
    }
    if (!/^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')) return params;
    for (const [name, value] of new URLSearchParams(body.toString('utf8'))) params.append(name, value);
    return params;
  }

  private range(params: URLSearchParams): unknown {
    const start = parseTime('start', params.get('start') ?? undefined);
    const end = parseTime('end', params.get('end') ?? undefined);
    if (end < start)
      throw new BadData('invalid parameter "end": end timestamp must not be before start time');
    const step = parseDuration('step', params.get('step') ?? undefined);
    if (step <= 0) {
      throw new BadData(
        'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
      );
    }
    if ((end - start) / step > MAX_POINTS) {
      throw new BadData(
        'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
      );
    }
    if (params.has('timeout')) parseDuration('timeout', params.get('timeout') ?? undefined);
    const parsed = query(params);
    const times: number[] = [];
    for (let t = start; t <= end; t += step) times.push(t);
    const result = evaluate(parsed, times, this.options.source).map((s) => ({
      metric: s.labels,
      values: s.values.flatMap((v, i) => (v === undefined ? [] : [[times[i]! / 1000, formatValue(v)]])),
    }));
    return { resultType: 'matrix', result };
  }

  private instant(params: URLSearchParams): unknown {
    const at = params.has('time') ? parseTime('time', params.get('time') ?? undefined) : this.clock();
    if (params.has('timeout')) parseDuration('timeout', params.get('timeout') ?? undefined);
    const parsed = query(params);
    const result = evaluate(parsed, [at], this.options.source).map((s) => ({
      metric: s.labels,
      value: [at / 1000, formatValue(s.values[0]!)],
    }));
    return { resultType: 'vector', result };
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}
