import { UnrecoverableError } from 'bullmq';

import { PagerDutyError } from '../src/kernel/pagerduty/errors';
import { defineJob } from '../src/deps';
import { pagerDutyEventJob } from '../src/alerts/contracts';
import type { AlertStore } from '../src/alerts/store';
import { tellPageFailed } from '../src/incidents/responders';

/**
 * One PagerDuty Events v2 event. Its own job, so a PagerDuty outage is retried with
 * backoff for a long while and never holds up Slack. A trigger whose alert episode is over
 * by the time it goes (resolved, or fired again as a new episode, while PagerDuty was
 * away) is dropped: it would page on-call for nothing, after the resolve had gone.
 */
export const pagerDutyEventProcessor = defineJob(pagerDutyEventJob, async (event, ctx) => {
  const { pagerduty, alerts, incidents } = ctx;
  try {
    if (event.action === 'trigger') {
      const { alertGroup, incident, ...trigger } = event;
      if (alertGroup && (await episodeOver(alerts, alertGroup))) return { skipped: 'the alert resolved' };
      if (incident && (await incidents.get(incident))?.status === 'resolved')
        return { skipped: 'the incident resolved' };
      return { dedupKey: await pagerduty.trigger(trigger) };
    }
    if (event.action === 'acknowledge') return { dedupKey: await pagerduty.acknowledge(event.dedupKey) };
    return { dedupKey: await pagerduty.resolve(event.dedupKey) };
  } catch (err) {
    const permanent = err instanceof PagerDutyError && !err.transient;
    // An incident's page that never went is said in its channel: on-call must be reached another way.
    if (
      event.action === 'trigger' &&
      event.incident &&
      (permanent || ctx.job.attemptsMade + 1 >= ctx.job.attempts)
    )
      await tellPageFailed(ctx, event.incident, (err as Error).message);
    if (permanent) throw new UnrecoverableError((err as Error).message);
    throw err;
  }
});

async function episodeOver(
  alerts: Pick<AlertStore, 'get'>,
  { id, episode }: { id: string; episode: number },
): Promise<boolean> {
  const group = await alerts.get(id);
  return !group || group.episode > episode || group.status === 'resolved';
}
