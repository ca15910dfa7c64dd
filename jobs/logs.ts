import { z } from 'zod';
import type { LogLine } from '../src/adapters/kubernetes/logs';
import { defineJob } from '../src/queue/define';
import { environmentName, slackChannel, slackUser } from '../src/queue/payloads';
import { logChunks, logsHeader } from '../src/views/logs';

const FOLLOW_FLUSH_MS = 2_000;

/** `/azora logs …`: the lines go into a thread, so the channel shows one message. */
export const logsJob = defineJob({
  queue: 'ops',
  name: 'logs',
  payload: z.object({
    environment: environmentName,
    service: z.string(),
    lines: z.number().int().min(1).max(1000),
    sinceMs: z.number().int().positive().optional(),
    grep: z.string().optional(),
    followMs: z.number().int().positive().max(300_000).optional(),
    channel: slackChannel,
    requester: slackUser,
    responseUrl: z.url(),
    /** Post into this thread (an alert's) rather than start one in the channel. */
    threadTs: z.string().optional(),
  }),
  options: { attempts: 1 },
  async run(query, ctx) {
    const { environment, service, channel } = query;
    try {
      if (query.followMs) {
        const { pods } = await ctx.kube.podsOf(environment, service);
        const ts = await ctx.messenger.post(
          channel,
          logsHeader(service, environment, pods, query, 0),
          query.threadTs,
        );
        const buffered: LogLine[] = [];
        let total = 0;
        const flush = async () => {
          const batch = buffered.splice(0);
          total += batch.length;
          for (const chunk of logChunks(batch))
            await ctx.messenger.post(channel, chunk, query.threadTs ?? ts);
        };
        const timer = setInterval(() => void flush(), FOLLOW_FLUSH_MS);
        try {
          await ctx.kube.followLogs(
            environment,
            service,
            { durationMs: query.followMs, grep: query.grep },
            (l) => buffered.push(l),
          );
        } finally {
          clearInterval(timer);
        }
        await flush();
        return { lines: total };
      }
      const { pods, lines } = await ctx.kube.logs(environment, service, query);
      const ts = await ctx.messenger.post(
        channel,
        logsHeader(service, environment, pods, query, lines.length),
      );
      for (const chunk of logChunks(lines)) await ctx.messenger.post(channel, chunk, query.threadTs ?? ts);
      return { lines: lines.length };
    } catch (err) {
      const text = `:x: could not read logs of ${service} in ${environment}: ${(err as Error).message}`;
      await ctx.messenger.respond(query.responseUrl, { text, blocks: [] });
      return { error: text };
    }
  },
});
