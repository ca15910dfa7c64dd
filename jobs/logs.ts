import type { LogLine } from '../src/kernel/kubernetes/port';
import { defineJob } from '../src/deps';
import { logsJob } from '../src/logs/contracts';

import { md, note } from '../src/kernel/slack/blocks';
import { logChunks, logsHeader } from '../src/logs/views';

const FOLLOW_FLUSH_MS = 2_000;
/** A follow stops after this many lines: Slack is no place for a firehose. */
export const MAX_FOLLOW_LINES = 2_000;

/**
 * `/azora logs …`: a header in the channel (or the alert's thread) and the lines in its
 * thread, all through the paced outbox. Logs run on their own queue, so a follow never
 * delays a change.
 */
export const logsProcessor = defineJob(logsJob, async (query, ctx) => {
  const { environment, service, channel } = query;
  const key = `logs-${ctx.job.id}`;
  const thread = query.threadKey ?? key;
  let replies = 0;
  let skipped = 0;
  const header = (pods: string[], found: number, capped = false) =>
    ctx.outbox.put(
      channel,
      key,
      logsHeader(service, environment, pods, query, found, { capped, skipped }),
      query.threadKey,
    );
  const post = async (lines: LogLine[], keepPace = false) => {
    const chunks = logChunks(lines);
    // A follow posts one message per flush, the newest lines: the channel's pace is Slack's, not the pods'.
    const shown = keepPace ? chunks.slice(-1) : chunks;
    skipped += chunks.slice(0, chunks.length - shown.length).reduce((n, c) => n + c.lines, 0);
    for (const { lines: _count, ...chunk } of shown)
      await ctx.outbox.reply(channel, thread, chunk, `${key}-${replies++}`);
  };
  try {
    if (!query.followMs) {
      const { pods, lines } = await ctx.kube.logs(environment, service, query);
      await header(pods, lines.length);
      await post(lines);
      return { lines: lines.length };
    }
    const { pods } = await ctx.kube.podsOf(environment, service);
    await header(pods, 0);
    const buffered: LogLine[] = [];
    const stop = new AbortController();
    let total = 0;
    const timer = setInterval(() => void post(buffered.splice(0), true), FOLLOW_FLUSH_MS);
    try {
      await ctx.kube.followLogs(
        environment,
        service,
        { durationMs: query.followMs, grep: query.grep, signal: stop.signal },
        (line) => {
          if (total >= MAX_FOLLOW_LINES) return stop.abort();
          total += 1;
          buffered.push(line);
        },
      );
    } finally {
      clearInterval(timer);
    }
    await post(buffered.splice(0), true);
    await header(pods, total, total >= MAX_FOLLOW_LINES);
    return { lines: total };
  } catch (err) {
    await ctx.messenger.respond(
      query.responseUrl,
      note(md`:x: could not read logs of ${service} in ${environment}: ${(err as Error).message}`),
    );
    return { error: (err as Error).message };
  } finally {
    if (query.followSlot) await ctx.gate.releaseFollow(query.requester, query.followSlot);
  }
});
