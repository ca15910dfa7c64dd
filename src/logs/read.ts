import type { z } from 'zod';
import type { Deps } from '../deps';
import type { LogLine } from '../kernel/kubernetes/port';
import { md, note } from '../kernel/slack/blocks';
import type { logsJob } from './contracts';
import { logChunks, logsHeader } from './views';

const FOLLOW_FLUSH_MS = 2_000;
/** A follow stops after this many lines: Slack is no place for a firehose. */
export const MAX_FOLLOW_LINES = 2_000;

export type LogsQuery = z.output<typeof logsJob.payload>;

/**
 * `/azora logs …`: a header in the channel (or the alert's thread) and the lines in its
 * thread, all through the paced outbox; a follow posts the newest lines every couple of
 * seconds and stops at its duration or MAX_FOLLOW_LINES. Whatever fails is told to the
 * requester alone; the follow slot is given back in every case. `run`: the job and which
 * of its runs this is. A run that takes over from a worker that died keeps the thread
 * (one header), but a follow's replies are new lines, so they are keyed by run: the
 * earlier run's keys would make the outbox drop them as posted already. A follow whose
 * run lost its job (its worker stalled past the stall time, and another took the job
 * over) stops before its next post, and leaves the thread and the follow slot to that run.
 */
export async function readLogs(
  deps: Pick<Deps, 'kube' | 'outbox' | 'messenger' | 'gate' | 'logger'>,
  query: LogsQuery,
  run: { id: string; attempt: number; owned?: (() => Promise<boolean>) | undefined },
): Promise<unknown> {
  const { environment, service, channel } = query;
  const key = `logs-${run.id}`;
  const replyKey = query.followMs ? `${key}-run${run.attempt}` : key;
  const thread = query.threadKey ?? key;
  let replies = 0;
  let skipped = 0;
  let lost = false;
  const header = (pods: string[], found: number, read: { capped?: boolean; unreadable?: string[] } = {}) =>
    deps.outbox.put(
      channel,
      key,
      logsHeader(service, environment, pods, query, found, { ...read, skipped }),
      query.threadKey,
    );
  const post = async (lines: LogLine[], keepPace = false) => {
    const chunks = logChunks(lines);
    // A follow posts one message per flush, the newest lines: the channel's pace is Slack's, not the pods'.
    const shown = keepPace ? chunks.slice(-1) : chunks;
    skipped += chunks.slice(0, chunks.length - shown.length).reduce((n, c) => n + c.lines, 0);
    for (const { lines: _count, ...chunk } of shown)
      await deps.outbox.reply(channel, thread, chunk, `${replyKey}-${replies++}`);
  };
  try {
    if (!query.followMs) {
      const { pods, lines, unreadable } = await deps.kube.logs(environment, service, query);
      await header(pods, lines.length, { unreadable });
      await post(lines);
      return { lines: lines.length };
    }
    const { pods } = await deps.kube.podsOf(environment, service);
    await header(pods, 0);
    const buffered: LogLine[] = [];
    const stop = new AbortController();
    let total = 0;
    const flush = async () => {
      if (lost || (run.owned && !(await run.owned()))) {
        lost = true;
        return stop.abort();
      }
      await post(buffered.splice(0), true);
    };
    // A flush that fails (Redis gone a moment) loses its lines, not the follow.
    const timer = setInterval(
      () =>
        void flush().catch((err: Error) =>
          deps.logger.warn({ err: err.message }, 'could not post followed log lines'),
        ),
      FOLLOW_FLUSH_MS,
    );
    let unreadable: string[] = [];
    // Every pod followed, those that came up during the follow included.
    let followed = pods;
    try {
      ({ pods: followed, unreadable } = await deps.kube.followLogs(
        environment,
        service,
        { durationMs: query.followMs, grep: query.grep, signal: stop.signal },
        (line) => {
          if (total >= MAX_FOLLOW_LINES) return stop.abort();
          total += 1;
          buffered.push(line);
        },
      ));
    } finally {
      clearInterval(timer);
    }
    await flush();
    if (lost) {
      deps.logger.warn({ job: run.id }, 'a log follow lost its job to another worker; stopped');
      return { lines: total, lost: true };
    }
    await header(followed, total, { capped: total >= MAX_FOLLOW_LINES, unreadable });
    return { lines: total };
  } catch (err) {
    await deps.messenger.respond(
      query.responseUrl,
      note(md`:x: could not read logs of ${service} in ${environment}: ${(err as Error).message}`),
    );
    return { error: (err as Error).message };
  } finally {
    // A run that lost its job leaves the slot to the run that took it over.
    if (query.followSlot && !lost) await deps.gate.releaseFollow(query.requester, query.followSlot);
  }
}
