import { defineJob } from '../src/deps';
import { incidentPagerDutyNoteJob } from '../src/incidents/contracts';
import { notePagerDuty, pagerDutyNoteMissing } from '../src/incidents/responders';

/** The channel's link on the PagerDuty incident; retried until PagerDuty has made it, then said in the channel if never. */
export const incidentPagerDutyNoteProcessor = defineJob(
  incidentPagerDutyNoteJob,
  async ({ incidentId }, ctx) => {
    const outcome = await notePagerDuty(ctx, incidentId);
    if (outcome !== 'not-made-yet') return { outcome };
    if (ctx.job.attemptsMade + 1 < ctx.job.attempts)
      throw new Error('PagerDuty has not made the incident yet; trying again');
    const incident = await ctx.incidents.get(incidentId);
    if (incident) {
      const missing = pagerDutyNoteMissing(
        `PagerDuty shows no open incident for the key ${incident.pagerduty?.id}`,
      );
      await ctx.outbox.paced('chat.postMessage', incident.channel, () =>
        ctx.messenger.post(incident.channel, missing),
      );
    }
    return { outcome };
  },
);
