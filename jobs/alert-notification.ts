import { pagerDutyKey, parentKey, standingChanges } from '../src/alerts/domain/group';

import { handleNotification } from '../src/alerts/notify';
import { watchAlert } from '../src/releases';
import { feed, fromAlertGroup } from '../src/incidents';
import { defineJob, type JobContext } from '../src/deps';
import type { Notification } from '../src/alerts/domain/payload';
import { legacyAlertNotificationJob, pagerDutyEventJob } from '../src/alerts/contracts';
import { queueGraph } from '../src/graphs';

/**
 * One stored Alertmanager notification: its group's thread, and its PagerDuty incident.
 * Taken from the alert inbox (src/alerts/drain.ts), not from a BullMQ queue; `entry` is
 * its id there, which orders the group's notifications.
 */
export async function alertNotificationProcessor(
  notification: Notification,
  ctx: JobContext,
  entry?: string,
) {
  const retried = ctx.job.attemptsMade > 0;
  const applied = await handleNotification(ctx, notification, entry, retried);
  const { group } = applied;
  // A retry can follow an attempt that stored the group and then failed before the steps
  // below (Redis gone for a moment): its changes are applied, so this attempt sees none,
  // and takes them from the group's state instead. Each step is idempotent: the job ids,
  // PagerDuty's dedup key, the timeline's event keys, the switch back's claim.
  const changes = retried && applied.changes.length === 0 ? standingChanges(group) : applied.changes;
  const paged = (severity: string) => ctx.policy.alerts.page.includes(severity);
  const pages = ctx.pagerduty.enabled && paged(group.severity);
  if (pages) {
    const dedupKey = pagerDutyKey(group);
    // Opened, firing again, or risen into a paged severity while it fired.
    const starts = changes.some(
      (c) => c.kind === 'opened' || c.kind === 'reopened' || (c.kind === 'escalated' && !paged(c.from)),
    );
    if (starts) {
      const summary = `${group.alertname}: ${group.summary}`;
      const source = [group.service, group.environment].filter(Boolean).join('/') || 'azora';
      await ctx.queues.enqueue(
        pagerDutyEventJob,
        {
          action: 'trigger',
          dedupKey,
          summary,
          source,
          severity: 'critical',
          alertGroup: { id: group.id, episode: group.episode },
        },
        { jobId: `pd-trigger-${dedupKey}` },
      );
    }
    if (changes.some((c) => c.kind === 'resolved')) {
      await ctx.queues.enqueue(
        pagerDutyEventJob,
        { action: 'resolve', dedupKey },
        { jobId: `pd-resolve-${dedupKey}` },
      );
    }
  }
  await queueGraph(ctx, group, changes);
  // After the page, and never failing the job: nothing here may stand between an alert
  // and its page.
  const release = await watchAlert(ctx, group, changes, parentKey(group)).catch((err: Error) => {
    ctx.logger.warn({ group: group.id, err: err.message }, 'could not tell the release of this alert');
    return 'failed' as const;
  });
  for (const event of fromAlertGroup(group, changes, ctx.now())) {
    await feed(ctx, event).catch((err: Error) =>
      ctx.logger.warn(
        { group: group.id, err: err.message },
        'could not add this alert to an incident timeline',
      ),
    );
  }
  return { group: group.id, changes: changes.map((c) => c.kind), release };
}

/** The same, for a notification an earlier version's web process queued as a BullMQ job. */
export const legacyAlertNotificationProcessor = defineJob(
  legacyAlertNotificationJob,
  alertNotificationProcessor,
);
