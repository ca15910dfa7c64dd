import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import { PagerDutyError } from '../src/kernel/pagerduty/errors';
import { defineJob } from '../src/kernel/queue/define';

/**
 * One PagerDuty Events v2 event. Its own job, so a PagerDuty outage is retried with
 * backoff for a long while and never holds up Slack.
 */
export const pagerDutyEventJob = defineJob({
  queue: 'notify',
  name: 'pagerduty-event',
  payload: z.discriminatedUnion('action', [
    z.object({
      action: z.literal('trigger'),
      dedupKey: z.string(),
      summary: z.string(),
      source: z.string(),
      severity: z.enum(['critical', 'error', 'warning', 'info']),
    }),
    z.object({ action: z.enum(['acknowledge', 'resolve']), dedupKey: z.string() }),
  ]),
  options: { attempts: 10, backoff: { type: 'exponential', delay: 2_000 } },
  async run(event, { pagerduty }) {
    try {
      if (event.action === 'trigger') return { dedupKey: await pagerduty.trigger(event) };
      if (event.action === 'acknowledge') return { dedupKey: await pagerduty.acknowledge(event.dedupKey) };
      return { dedupKey: await pagerduty.resolve(event.dedupKey) };
    } catch (err) {
      if (err instanceof PagerDutyError && !err.transient) throw new UnrecoverableError(err.message);
      throw err;
    }
  },
});
