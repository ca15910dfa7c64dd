import { defineJob } from '../src/deps';
import { incidentNudgeJob } from '../src/incidents/contracts';
import { nudgeIfDue } from '../src/incidents/nudge';

/** A sev1's commander nudged for a status update, once per the policy's interval. */
export const incidentNudgeProcessor = defineJob(incidentNudgeJob, async ({ incidentId }, ctx) => ({
  nudged: await nudgeIfDue(ctx, incidentId),
}));
