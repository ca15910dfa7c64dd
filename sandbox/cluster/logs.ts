import type { ServerResponse } from 'node:http';
import { openStream, type StreamRegistry } from './http';
import { containerStartMs } from './pods';
import { badRequest, invalid, type FieldError } from './status';
import { arr, fnv32a, rec, str, type KubeObject } from './types';

/**
 * Synthetic container logs. Line i of a container is a pure function of (pod, container, i)
 * and appears at start + i·interval, so the past can be served without storing anything and a
 * follower sees new lines at the same pace. Some lines are WARN/ERROR and some carry a
 * credential (password=…, Authorization: Bearer …) so that the bot's redaction has work to do.
 */

export interface LogSettings {
  intervalMs: number;
  /** The kubelet keeps only so much: older lines have been rotated away. */
  historyLines: number;
}

/** One line a container wrote, when it wrote it. */
export interface RecordedLine {
  at: number;
  text: string;
}

/**
 * What the containers of run-to-completion pods (a Job's) wrote: their log is not
 * synthesized but what the simulated script printed, kept by pod uid while the pod exists.
 */
export class RecordedLogs {
  private readonly byPod = new Map<string, RecordedLine[]>();

  append(podUid: string, at: number, lines: readonly string[]): void {
    if (lines.length === 0) return;
    const kept = this.byPod.get(podUid) ?? [];
    for (const text of lines) kept.push({ at, text });
    this.byPod.set(podUid, kept);
  }

  lines(podUid: string): readonly RecordedLine[] {
    return this.byPod.get(podUid) ?? [];
  }

  /** Drops the logs of pods not in `live` (they were deleted). */
  retain(live: ReadonlySet<string>): void {
    for (const uid of this.byPod.keys()) if (!live.has(uid)) this.byPod.delete(uid);
  }

  get size(): number {
    return this.byPod.size;
  }
}

export interface LogContext extends LogSettings {
  clock: () => number;
  streams: StreamRegistry;
  /** The pod as it is now; undefined once deleted (a follow then ends). */
  currentPod: () => KubeObject | undefined;
  /**
   * For a pod that runs to completion (a Job's): what its container wrote so far, and
   * whether it has exited. Its log is then exactly that, not the synthetic app log.
   */
  recorded?: { lines: () => readonly RecordedLine[]; exited: () => boolean };
  /** Since when the pod's workload has been unhealthy, if it is. */
  unhealthySince: () => number | undefined;
  /** Whether the pod's `-bad` version was failing under traffic at a time. */
  failingAt?: (at: number) => boolean;
}

interface LineSource {
  pod: string;
  container: string;
  image: string;
  startMs: number;
  unhealthySince?: number;
  /** A `-bad` version failing under traffic at this time: most requests end in a 500. */
  failing?: boolean;
  /** The container has a terminal (`tty: true`): some of its lines come coloured, as libraries colour for one. */
  tty?: boolean;
}

const SECRETS = [
  (svc: string) => `connecting to postgres://azora@postgres:5432/${svc} with password=hunter2`,
  () =>
    'upstream call failed, retrying request with Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.c2FuZGJveA.Zm9vYmFy',
  () => 'payment provider webhook rejected: api_key=sk_live_51H8xAzoraSandboxKey',
];

const ERRORS = [
  'upstream timeout after 5000ms',
  'database query failed: deadlock detected',
  'unhandled promise rejection: ECONNRESET',
  'failed to publish event: redis connection lost',
];

const RELEASE_ERRORS = [
  "TypeError: Cannot read properties of undefined (reading 'amount')",
  'ReferenceError: featureFlags is not defined',
  "TypeError: Cannot read properties of null (reading 'userId')",
];

const WARNINGS = [
  'slow request',
  'retrying after 429 from upstream',
  'cache miss storm',
  'event loop lag 210ms',
];

function versionOf(image: string): string {
  const tag = image.split(':').pop() ?? '';
  return tag === image ? 'latest' : tag;
}

function formatTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** RFC 3339 with nanoseconds, as the kubelet prefixes lines for `timestamps=true`. */
function nanoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

function appLine(src: LineSource, index: number, at: number): string {
  const h = fnv32a(`${src.pod}/${src.container}/${index}`);
  const service = src.container;
  const base = { time: formatTime(at), service, pod: src.pod };
  const route = ['/api/courses', '/api/users/me', '/api/search?q=algebra', '/api/enrollments', '/api/health'][
    h % 5
  ];
  if (index === 0) {
    return JSON.stringify({ level: 'info', ...base, version: versionOf(src.image), msg: 'server listening' });
  }
  if (src.unhealthySince !== undefined && at >= src.unhealthySince && h % 2 === 0) {
    return JSON.stringify({
      level: 'error',
      ...base,
      msg: 'health check failed: dependency unavailable (connect ECONNREFUSED 10.96.12.7:5432)',
    });
  }
  if (src.failing && h % 4 !== 0) {
    return JSON.stringify({
      level: 'error',
      ...base,
      version: versionOf(src.image),
      msg: `GET ${route} 500`,
      err: RELEASE_ERRORS[(h >>> 8) % RELEASE_ERRORS.length],
      durationMs: 1 + (h % 40),
      reqId: (h >>> 4).toString(16),
    });
  }
  if (h % 37 === 5) {
    const secret = SECRETS[(h >>> 8) % SECRETS.length] ?? SECRETS[0];
    return JSON.stringify({ level: 'warn', ...base, msg: secret ? secret(service) : '' });
  }
  if (src.tty && h % 37 === 6) {
    // A library that colours its output for a terminal: logfmt, with a secret.
    const key = (name: string) => `\x1b[33m${name}\x1b[0m`;
    return `\x1b[33mWARN\x1b[0m[${base.time}] retrying upstream call ${key('service')}=${service} ${key('token')}=sk_live_51H8xAzoraSandboxKey`;
  }
  if (h % 19 === 3) {
    return JSON.stringify({ level: 'error', ...base, msg: ERRORS[(h >>> 8) % ERRORS.length], route });
  }
  if (h % 9 === 4) {
    return JSON.stringify({
      level: 'warn',
      ...base,
      msg: WARNINGS[(h >>> 8) % WARNINGS.length],
      durationMs: 800 + (h % 1200),
    });
  }
  const status = h % 13 === 0 ? 404 : 200;
  return JSON.stringify({
    level: 'info',
    ...base,
    msg: `GET ${route} ${status}`,
    durationMs: 2 + (h % 90),
    reqId: (h >>> 4).toString(16),
  });
}

/** PostgreSQL's own text format, so not every log is JSON. */
function postgresLine(src: LineSource, index: number, at: number): string {
  const h = fnv32a(`${src.pod}/${src.container}/${index}`);
  const stamp = formatTime(at).replace('T', ' ').replace('Z', ' UTC');
  const pid = 100 + (h % 900);
  if (index === 0) return `${stamp} [1] LOG:  database system is ready to accept connections`;
  if (h % 41 === 7)
    return `${stamp} [${pid}] LOG:  connection authorized: user=azora database=azora password=hunter2`;
  if (h % 23 === 2) return `${stamp} [${pid}] ERROR:  canceling statement due to statement timeout`;
  if (h % 11 === 6) return `${stamp} [${pid}] WARNING:  there is already a transaction in progress`;
  return h % 2 === 0
    ? `${stamp} [${pid}] LOG:  checkpoint complete: wrote ${h % 500} buffers (${(h % 30) / 10}%)`
    : `${stamp} [${pid}] LOG:  duration: ${(h % 4000) / 100} ms  statement: SELECT 1`;
}

export function logLine(src: LineSource, index: number, at: number): string {
  return src.image.includes('postgres') ? postgresLine(src, index, at) : appLine(src, index, at);
}

function intParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw badRequest(`invalid value for ${name}: "${raw}"`);
  return value;
}

function boolParam(query: URLSearchParams, name: string): boolean {
  const raw = query.get(name);
  return raw === 'true' || raw === '1';
}

function chooseContainer(
  pod: KubeObject,
  requested: string | null,
): { name: string; image: string; tty: boolean } {
  const containers = arr(rec(pod.spec).containers).map((c) => ({
    name: str(rec(c).name) ?? '',
    image: str(rec(c).image) ?? '',
    tty: rec(c).tty === true,
  }));
  const name = requested || pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'];
  if (!name) {
    if (containers.length === 1 && containers[0]) return containers[0];
    throw badRequest(
      `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${containers.map((c) => c.name).join(' ')}]`,
    );
  }
  const found = containers.find((c) => c.name === name);
  if (!found) throw badRequest(`container ${name} is not valid for pod ${pod.metadata.name}`);
  return found;
}

/** GET /api/v1/namespaces/{ns}/pods/{name}/log with the kubelet's query parameters. */
export function serveLog(
  res: ServerResponse,
  pod: KubeObject,
  query: URLSearchParams,
  ctx: LogContext,
): void {
  const container = chooseContainer(pod, query.get('container'));
  const tailLines = intParam(query, 'tailLines');
  const sinceSeconds = intParam(query, 'sinceSeconds');
  const limitBytes = intParam(query, 'limitBytes');
  const sinceTimeRaw = query.get('sinceTime');
  const errors: FieldError[] = [];
  if (tailLines !== undefined && tailLines < 0) {
    errors.push({ field: 'tailLines', value: tailLines, detail: 'must be greater than or equal to 0' });
  }
  if (sinceSeconds !== undefined && sinceSeconds < 1) {
    errors.push({ field: 'sinceSeconds', value: sinceSeconds, detail: 'must be greater than 0' });
  }
  if (limitBytes !== undefined && limitBytes < 1) {
    errors.push({ field: 'limitBytes', value: limitBytes, detail: 'must be greater than 0' });
  }
  if (sinceSeconds !== undefined && sinceTimeRaw) {
    errors.push({
      field: 'sinceSeconds',
      type: 'FieldValueForbidden',
      detail: 'at most one of sinceTime or sinceSeconds may be specified',
    });
  }
  let sinceTime: number | undefined;
  if (sinceTimeRaw) {
    sinceTime = Date.parse(sinceTimeRaw);
    if (Number.isNaN(sinceTime)) throw badRequest(`invalid sinceTime "${sinceTimeRaw}": not RFC 3339`);
  }
  if (errors.length > 0) throw invalid({ group: '', kind: 'PodLogOptions' }, pod.metadata.name, errors);
  if (boolParam(query, 'previous')) {
    throw badRequest(
      `previous terminated container "${container.name}" in pod "${pod.metadata.name}" not found`,
    );
  }
  const startMs = containerStartMs(pod);
  if (startMs === undefined) {
    throw badRequest(
      `container "${container.name}" in pod "${pod.metadata.name}" is waiting to start: ContainerCreating`,
    );
  }

  const timestamps = boolParam(query, 'timestamps');
  const since = (now: number): number | undefined =>
    sinceSeconds !== undefined ? now - sinceSeconds * 1000 : sinceTime;
  if (ctx.recorded) {
    serveRecorded(
      res,
      ctx.recorded,
      { timestamps, tailLines, limitBytes, follow: boolParam(query, 'follow') },
      {
        since: since(ctx.clock()),
        streams: ctx.streams,
        gone: () => ctx.currentPod()?.metadata.uid !== pod.metadata.uid,
      },
    );
    return;
  }

  const src: LineSource = {
    pod: pod.metadata.name,
    container: container.name,
    image: container.image,
    startMs,
    tty: container.tty,
  };
  const lineTime = (i: number): number => startMs + i * ctx.intervalMs;
  const countAt = (now: number): number =>
    now < startMs ? 0 : Math.floor((now - startMs) / ctx.intervalMs) + 1;
  const render = (i: number): string => {
    const at = lineTime(i);
    // Health can change while a follower reads, so it is looked up per line.
    const line = logLine(
      { ...src, unhealthySince: ctx.unhealthySince(), failing: ctx.failingAt?.(at) === true },
      i,
      at,
    );
    return `${timestamps ? `${nanoTime(at)} ` : ''}${line}\n`;
  };

  const now = ctx.clock();
  const total = countAt(now);
  let first = Math.max(0, total - ctx.historyLines);
  const from = since(now);
  if (from !== undefined) first = Math.max(first, Math.ceil((from - startMs) / ctx.intervalMs));
  if (tailLines !== undefined) first = Math.max(first, total - tailLines);

  let budget = limitBytes ?? Infinity;
  const take = (text: string): string => {
    if (budget === Infinity) return text;
    const bytes = Buffer.from(text, 'utf8');
    const out = bytes.subarray(0, Math.max(0, budget)).toString('utf8');
    budget -= Math.min(bytes.length, budget);
    return out;
  };

  let initial = '';
  for (let i = first; i < total; i++) initial += render(i);

  if (!boolParam(query, 'follow')) {
    const body = take(initial);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }

  let timer: NodeJS.Timeout | undefined;
  const stream = openStream(res, ctx.streams, 'text/plain', () => {
    if (timer) clearTimeout(timer);
  });
  stream.write(take(initial));
  let next = total;
  const tick = (): void => {
    const current = ctx.currentPod();
    // The kubelet ends a follow when its container exits (a restart): the next is a new stream.
    const restarted = current !== undefined && containerStartMs(current) !== startMs;
    if (!current || current.metadata.uid !== pod.metadata.uid || restarted || budget <= 0) {
      stream.end();
      return;
    }
    const upTo = countAt(ctx.clock());
    let chunk = '';
    for (; next < upTo; next++) chunk += render(next);
    stream.write(take(chunk));
    if (budget <= 0) {
      stream.end();
      return;
    }
    timer = setTimeout(tick, Math.max(5, lineTime(next) - ctx.clock()));
  };
  if (budget <= 0) stream.end();
  else timer = setTimeout(tick, Math.max(5, lineTime(next) - ctx.clock()));
}

/** A byte budget (limitBytes) shared by everything one log response writes. */
function byteBudget(limitBytes: number | undefined): { take(text: string): string; spent(): boolean } {
  let budget = limitBytes ?? Infinity;
  return {
    take(text: string): string {
      if (budget === Infinity) return text;
      const bytes = Buffer.from(text, 'utf8');
      const out = bytes.subarray(0, Math.max(0, budget)).toString('utf8');
      budget -= Math.min(bytes.length, budget);
      return out;
    },
    spent: () => budget <= 0,
  };
}

/** A recorded log with the kubelet's options; a follow ends once the container has exited (or the pod is gone). */
function serveRecorded(
  res: ServerResponse,
  recorded: NonNullable<LogContext['recorded']>,
  options: { timestamps: boolean; tailLines?: number; limitBytes?: number; follow: boolean },
  ctx: { since?: number; streams: StreamRegistry; gone: () => boolean },
): void {
  const render = (line: RecordedLine): string =>
    `${options.timestamps ? `${nanoTime(line.at)} ` : ''}${line.text}\n`;
  const all = recorded.lines();
  let shown = ctx.since === undefined ? [...all] : all.filter((l) => l.at >= (ctx.since ?? 0));
  if (options.tailLines !== undefined) shown = shown.slice(Math.max(0, shown.length - options.tailLines));
  const budget = byteBudget(options.limitBytes);
  const initial = budget.take(shown.map(render).join(''));
  if (!options.follow) {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(initial) });
    res.end(initial);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const stream = openStream(res, ctx.streams, 'text/plain', () => {
    if (timer) clearTimeout(timer);
  });
  stream.write(initial);
  let next = all.length;
  const tick = (): void => {
    const lines = recorded.lines();
    const chunk = lines.slice(next).map(render).join('');
    next = lines.length;
    stream.write(budget.take(chunk));
    if (budget.spent() || ctx.gone() || recorded.exited()) {
      stream.end();
      return;
    }
    timer = setTimeout(tick, 50);
  };
  if (budget.spent() || recorded.exited() || ctx.gone()) stream.end();
  else timer = setTimeout(tick, 50);
}
