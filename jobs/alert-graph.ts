import { parentKey } from '../src/alerts/domain/group';
import { defineJob } from '../src/deps';
import { alertGraphJob, drawAlertGraph, redrawTooSoon } from '../src/graphs';

/** The graph of an alert group, drawn into its thread: once per episode, or again on Graph. */
export const alertGraphProcessor = defineJob(alertGraphJob, async (payload, ctx) => {
  const { groupId, episode, redrawBy, responseUrl } = payload;
  const group = await ctx.alerts.get(groupId);
  if (!group) return { skipped: 'the group is gone' };
  const outcome = await drawAlertGraph(ctx, group, parentKey(group), {
    episode,
    ...(redrawBy ? { redrawBy } : {}),
    job: ctx.job,
  });
  if ('skipped' in outcome && outcome.skipped === 'drawn moments ago' && responseUrl)
    await ctx.messenger.respond(responseUrl, redrawTooSoon(await ctx.graphs.claims.redrawWait(group.id)));
  return outcome;
});
