import { pagerDutyKey, parentKey } from '../src/alerts/domain/group';

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
  const { group, changes } = await handleNotification(ctx, notification, entry);
  const pages = ctx.pagerduty.enabled && ctx.policy.alerts.page.includes(group.severity);
  // A retry can follow an attempt that stored the group and then failed before it paged:
  // its changes are applied, so this attempt sees none, and it pages by the group's state
  // instead. The job ids, and PagerDuty's own dedup key, keep a page from going out twice.
  const retried = ctx.job.attemptsMade > 0;
  const opened = retried
    ? group.status === 'firing'
    : changes.some((c) => c.kind === 'opened' || c.kind === 'reopened');
  const resolved = retried ? group.status === 'resolved' : changes.some((c) => c.kind === 'resolved');
  if (pages) {
    const dedupKey = pagerDutyKey(group);
    if (opened) {
      const summary = `${group.alertname}: ${group.summary}`;
      const source = [group.service, group.environment].filter(Boolean).join('/') || 'azora';
      await ctx.queues.enqueue(
        pagerDutyEventJob,
        { action: 'trigger', dedupKey, summary, source, severity: 'critical' },
        { jobId: `pd-trigger-${dedupKey}` },
      );
    }
    if (resolved) {
      await ctx.queues.enqueue(
        pagerDutyEventJob,
        { action: 'resolve', dedupKey },
        { jobId: `pd-resolve-${dedupKey}` },
      );
    }
  }
  await queueGraph(ctx, group, changes);
  // After the page: a retry of this job sees no change any more (the notification is
  // applied), so nothing that fails here may stand between an alert and its page.
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
export const legacyAlertNotificationProcessor = defineJob(legacyAlertNotificationJob, (notification, ctx) =>
  alertNotificationProcessor(notification, ctx),
);
