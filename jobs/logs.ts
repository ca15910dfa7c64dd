import { defineJob } from '../src/deps';
import { logsJob } from '../src/logs/contracts';
import { readLogs } from '../src/logs/read';

/** `/azora logs …` on its own queue, so a follow never delays a change. */
export const logsProcessor = defineJob(logsJob, (query, ctx) =>
  readLogs(ctx, query, { id: ctx.job.id, attempt: ctx.job.attemptsStarted, owned: ctx.job.owned }),
);
