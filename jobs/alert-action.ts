import { AlertmanagerError } from '../src/kernel/alertmanager';
import { pagerDutyKey, parentKey, silenceHolds } from '../src/alerts/domain/group';
import { showGroup } from '../src/alerts/notify';
import { silenceOnce } from '../src/alerts/silence';
import { defineJob } from '../src/deps';
import { alertActionJob, pagerDutyEventJob } from '../src/alerts/contracts';

import { noteReply, silenceReply } from '../src/alerts/views';
import { md, mention, type Text } from '../src/kernel/slack/blocks';
import { alertActionEvent, feed } from '../src/incidents';
import { refusalForAlert } from '../src/access/check';

/** Acknowledge, Silence 1h and Expire silence, pressed in an alert thread. */
export const alertActionProcessor = defineJob(alertActionJob, async ({ kind, groupId, user }, ctx) => {
  const group = await ctx.alerts.get(groupId);
  if (!group) return { skipped: 'unknown group' };
  // Keyed by the press's job and what is said: a retry (its timeline step failed) says it once.
  const say = (what: string, text: Text) =>
    ctx.outbox.reply(group.channel, parentKey(group), noteReply(text), `${ctx.job.id}-${what}`);
  // The press was allowed for the group as it was then: one whose environment changed since
  // (an alert of another joined it) is asked about again, as it is now.
  const refusal = await refusalForAlert(ctx, group, {
    capability: 'respond',
    user,
    what: `${kind} on alert ${group.alertname} (${group.id}), as it is when the job runs`,
  });
  if (refusal) {
    await say(
      'refused',
      md`:no_entry: not done for ${mention(user)}: this alert changed since the press, and they may not respond to it as it is now.`,
    );
    return { skipped: 'refused' };
  }

  if (kind === 'ack') {
    const dedupKey = pagerDutyKey(group);
    await ctx.queues.enqueue(
      pagerDutyEventJob,
      { action: 'acknowledge', dedupKey },
      { jobId: `pd-ack-${dedupKey}` },
    );
    const updated = await ctx.alerts.update(groupId, (g) => ({ ...g, acknowledgedBy: user }));
    if (updated) await showGroup(ctx, updated);
    await say('acknowledged', md`:eyes: ${mention(user)} acknowledged this in PagerDuty.`);
    await feed(ctx, alertActionEvent(group, 'acknowledge', user, ctx.now(), 'acknowledged'));
    return { acknowledged: dedupKey };
  }
  if (!ctx.alertmanager) {
    await say('no-alertmanager', ':warning: ALERTMANAGER_URL is not set, so the bot cannot silence alerts.');
    return { skipped: 'no alertmanager' };
  }
  const alertmanager = ctx.alertmanager;
  // Said in the thread when retrying cannot help, or this was the last attempt.
  const failed = async (what: string, err: unknown) => {
    const lastAttempt = ctx.job.attemptsMade + 1 >= ctx.job.attempts;
    if (err instanceof AlertmanagerError && err.transient && !lastAttempt) throw err;
    await say('failed', md`:warning: could not ${what}: ${(err as Error).message}`);
    return { failed: (err as Error).message };
  };
  if (kind === 'silence') {
    const { silence: current } = group;
    if (current && silenceHolds(current, ctx.now())) {
      await say(
        'already-silenced',
        md`:mute: already silenced by ${mention(current.by)} until ${current.endsAt}.`,
      );
      return { skipped: 'already silenced' };
    }
    let silence;
    try {
      silence = await silenceOnce(
        alertmanager,
        group,
        // attemptsStarted, not attemptsMade: a worker that died mid-press fails nothing, and its taker must look too.
        { id: ctx.job.id, user, retried: ctx.job.attemptsStarted > 1 },
        ctx.policy.alerts.silence,
      );
    } catch (err) {
      return failed('silence this group', err);
    }
    const updated = await ctx.alerts.update(groupId, (g) => ({ ...g, silence: { ...silence, by: user } }));
    if (updated) await showGroup(ctx, updated);
    await ctx.outbox.reply(
      group.channel,
      parentKey(group),
      silenceReply(group, user, silence.endsAt),
      `${ctx.job.id}-silenced`,
    );
    await feed(ctx, alertActionEvent(group, 'silence', user, ctx.now(), `silenced until ${silence.endsAt}`));
    return { silence: silence.id };
  }
  // Nothing recorded to lift (a retry that lifted it already goes on to say so).
  if (!group.silence && ctx.job.attemptsMade === 0) {
    await say(
      'no-silence',
      md`:information_source: No silence of this group is recorded; nothing was expired.`,
    );
    return { skipped: 'no silence' };
  }
  if (group.silence) {
    try {
      await alertmanager.expireSilence(group.silence.id);
    } catch (err) {
      return failed('expire the silence', err);
    }
  }
  const updated = await ctx.alerts.update(groupId, ({ silence: _lifted, ...g }) => g);
  if (updated) await showGroup(ctx, updated);
  await say('unsilenced', md`:loud_sound: ${mention(user)} expired the silence.`);
  return { unsilenced: true };
});
