import { UnrecoverableError } from 'bullmq';

import { PagerDutyError } from '../src/kernel/pagerduty/errors';
import { defineJob } from '../src/deps';
import { pagerDutyEventJob } from '../src/alerts/contracts';

/**
 * One PagerDuty Events v2 event. Its own job, so a PagerDuty outage is retried with
 * backoff for a long while and never holds up Slack.
 */
export const pagerDutyEventProcessor = defineJob(pagerDutyEventJob, async (event, { pagerduty }) => {
  try {
    if (event.action === 'trigger') return { dedupKey: await pagerduty.trigger(event) };
    if (event.action === 'acknowledge') return { dedupKey: await pagerduty.acknowledge(event.dedupKey) };
    return { dedupKey: await pagerduty.resolve(event.dedupKey) };
  } catch (err) {
    if (err instanceof PagerDutyError && !err.transient) throw new UnrecoverableError(err.message);
    throw err;
  }
});
