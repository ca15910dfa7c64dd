import type { KubeConfig } from '@kubernetes/client-node';
import { ApiException, Log } from './client-node';
import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createRedactor, redactLines, type Redactor } from '../domain/redact';
import { printable } from '../domain/text';
import { onceMoreIfCut } from './connections';

/** What one follow takes from one pod at most. */
export const FOLLOW_BYTES_PER_POD = 1024 * 1024;

export interface LogQuery {
  lines: number;
  sinceMs?: number;
  grep?: string;
}

export interface LogLine {
  pod: string;
  /** RFC 3339 time stamp the kubelet put in front of the line. */
  time: string;
  text: string;
}

/**
 * Lines read with `timestamps=true` start with the kubelet's RFC 3339 time stamp. Each is
 * made printable first (terminal colours dropped), so a coloured `token=` is still seen as
 * a secret's key and a grep finds what the reader sees. Secrets are redacted with the pod's
 * `redact` when a stream passes one (a PEM key then stays hidden across its chunks), else
 * as one batch.
 */
export function parseLogLines(pod: string, raw: string, redact?: Redactor): LogLine[] {
  const lines = raw
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const space = line.indexOf(' ');
      const stamp = space > 0 ? line.slice(0, space) : '';
      return /^\d{4}-\d\d-\d\dT/.test(stamp)
        ? { pod, time: stamp, text: printable(line.slice(space + 1)) }
        : { pod, time: '', text: printable(line) };
    });
  const texts = redact ? lines.map((line) => redact(line.text)) : redactLines(lines.map((line) => line.text));
  return lines.map((line, i) => ({ ...line, text: texts[i]! }));
}

export const matchesGrep = (grep: string | undefined) => {
  const needle = grep?.toLowerCase();
  return (line: LogLine) => needle === undefined || line.text.toLowerCase().includes(needle);
};

/** The pods' lines as one time-ordered stream, filtered, then the last `lines` of it. */
export function mergeLogs(perPod: LogLine[][], query: LogQuery): LogLine[] {
  const keep = matchesGrep(query.grep);
  return perPod
    .flat()
    .filter(keep)
    .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0))
    .slice(-query.lines);
}

/**
 * `read` for every pod, leaving out those it fails for, each told by `describe` (which
 * names the pod); when it fails for every pod, the first failure is thrown.
 */
export async function readablePods<T>(
  pods: readonly string[],
  read: (pod: string) => Promise<T>,
  describe: (err: unknown, pod: string) => Error,
): Promise<{ read: { pod: string; value: T }[]; unreadable: { pod: string; why: string }[] }> {
  const settled = await Promise.allSettled(pods.map(read));
  const failed = settled.flatMap((s, i) =>
    s.status === 'rejected' ? [{ pod: pods[i]!, err: s.reason as unknown }] : [],
  );
  if (pods.length > 0 && failed.length === pods.length) throw failed[0]!.err;
  return {
    read: settled.flatMap((s, i) => (s.status === 'fulfilled' ? [{ pod: pods[i]!, value: s.value }] : [])),
    unreadable: failed.map(({ pod, err }) => ({ pod, why: describe(err, pod).message })),
  };
}

/**
 * Whether client-node's `Log.log` got no HTTP answer at all. Version 2.0.1 turns every
 * failure to get one (a refused connection, or a kept one the API server or a load
 * balancer cut) into `ApiException(500, 'Error occurred in log request')` with no body and
 * no headers, and drops the cause; a 500 from the API server itself always has headers.
 */
export function noAnswer(err: unknown): boolean {
  return (
    err instanceof ApiException &&
    err.code === 500 &&
    err.body === undefined &&
    Object.keys(err.headers ?? {}).length === 0
  );
}

/**
 * A kubelet time stamp (RFC 3339 with up to nine fractional digits, trailing zeros dropped)
 * as a string that sorts as the time does.
 */
const sortableTime = (time: string): string =>
  time.replace(
    /(?:\.(\d{1,9}))?Z$/,
    (_, fraction: string | undefined) => `.${(fraction ?? '').padEnd(9, '0')}Z`,
  );

/**
 * Streams new lines of several pods for a bounded time (`kubectl logs -f` with a stop),
 * handing each complete, redacted line to `onLine`. A stream that got no answer is asked
 * for once more, as every other call is when its kept connection was cut (connections.ts):
 * nothing of it reached `onLine` yet. A pod whose stream cannot be opened (still starting,
 * gone) is left out and named in `unreadable`; only when none can be does it fail. A pod
 * whose stream the API server ended (its container exited: a crash loop) is followed again
 * from its last line, as its new container starts, within the pod's byte limit.
 */
export async function followPods(
  config: KubeConfig,
  namespace: string,
  pods: { first: string[]; now: () => Promise<string[]>; everyMs: number },
  options: { durationMs: number; since: string; grep?: string; signal?: AbortSignal },
  onLine: (line: LogLine) => void,
  describe: (err: unknown, pod: string) => Error,
): Promise<{ pods: string[]; unreadable: string[] }> {
  const keep = matchesGrep(options.grep);
  const log = new Log(config);
  /** Per pod, over all of its streams: the bytes taken and the last line's time. */
  const taken = new Map<string, { bytes: number; last?: string }>();
  const streams = new Map<string, { controller: AbortController; sink: Writable }>();
  const spent = (pod: string) => (taken.get(pod)?.bytes ?? 0) >= FOLLOW_BYTES_PER_POD;
  let stopped = false;
  const openStream = async (pod: string) => {
    const seen = taken.get(pod) ?? { bytes: 0 };
    taken.set(pod, seen);
    const resumeAfter = seen.last;
    let partial = '';
    let ended = false;
    const redact = createRedactor();
    // A character split between two chunks is put back together, not made two U+FFFD.
    const utf8 = new StringDecoder('utf8');
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        seen.bytes += chunk.length;
        const text = partial + utf8.write(chunk);
        const complete = text.slice(0, text.lastIndexOf('\n') + 1);
        partial = text.slice(complete.length);
        for (const line of parseLogLines(pod, complete, redact)) {
          const at = line.time ? sortableTime(line.time) : undefined;
          // Following again from the last line's second: what was handed on already is not again.
          if (at !== undefined && resumeAfter !== undefined && at <= resumeAfter) continue;
          if (at !== undefined) seen.last = at;
          if (keep(line)) onLine(line);
        }
        done();
      },
    });
    // The API server ended the stream (not the abort below, which ends none): followed again
    // at the next look, unless the pod's byte limit is spent.
    sink.on('finish', () => {
      ended = true;
      if (!stopped && !spent(pod) && streams.get(pod)?.sink === sink) streams.delete(pod);
    });
    // client-node 2 pipes the response into the sink without an error listener on it,
    // so the abort below would be an uncaught exception; a pod's stream just ends.
    sink.on('pipe', (source) => source.on('error', () => undefined));
    const open = () =>
      log.log(namespace, pod, '', sink, {
        follow: true,
        // Not `tailLines: 0`, which client-node 2.0.1 drops as falsy: the API server then
        // sends the pod's whole log first, up to limitBytes, as if it were new. Seconds are
        // what the API server compares, so a stream followed again starts in its last second.
        sinceTime: resumeAfter ? `${resumeAfter.slice(0, 19)}Z` : options.since,
        timestamps: true,
        // The API server ends a pod's stream past this, however chatty the pod.
        limitBytes: FOLLOW_BYTES_PER_POD - seen.bytes,
      });
    const controller = await onceMoreIfCut(open, noAnswer).catch((err: unknown) => {
      throw noAnswer(err) ? new Error(`no answer to the log request of ${pod}`) : err;
    });
    return { controller, sink, ended: () => ended };
  };
  const unreadable = new Map<string, string>();
  const opened = new Set<string>();
  const followed = (pod: string, stream: Awaited<ReturnType<typeof openStream>>) => {
    opened.add(pod);
    if (stopped) stream.controller.abort();
    else if (!stream.ended()) streams.set(pod, stream);
  };
  const first = await readablePods(pods.first, openStream, describe);
  for (const { pod, value } of first.read) followed(pod, value);
  for (const { pod, why } of first.unreadable) unreadable.set(pod, why);
  // Pods come and go while a follow runs (a rollout, a crash): new ones are followed too,
  // and one that could not be read yet (still starting) is asked again.
  const look = async () => {
    const now = await pods.now().catch(() => undefined);
    if (!now) return;
    // A pod gone since is not one that could not be read.
    for (const pod of unreadable.keys()) if (!now.includes(pod)) unreadable.delete(pod);
    for (const pod of now) {
      if (stopped || streams.has(pod) || spent(pod)) continue;
      try {
        followed(pod, await openStream(pod));
        unreadable.delete(pod);
      } catch (err) {
        unreadable.set(pod, describe(err, pod).message);
      }
    }
  };
  let looking: Promise<void> = Promise.resolve();
  const relist = setInterval(() => {
    looking = looking.then(look);
  }, pods.everyMs);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, options.durationMs);
    options.signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  stopped = true;
  clearInterval(relist);
  await looking;
  for (const stream of streams.values()) stream.controller.abort();
  return {
    pods: [...new Set([...opened, ...unreadable.keys()])],
    unreadable: [...unreadable.values()],
  };
}
