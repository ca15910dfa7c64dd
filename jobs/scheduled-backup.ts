import { defineJob } from '../src/deps';
import { scheduledBackupJob } from '../src/backups/contracts';
import { lockedBackup } from '../src/backups/run';
import { backupResultMessage } from '../src/backups/views';
import { pagerDutyEventJob } from '../src/alerts/contracts';

/** When a scheduler's job was due: BullMQ names them `repeat:<key>:<ms>`. */
function dueAt(jobId: string, fallback: number): number {
  const ms = Number(/:(\d{12,})$/.exec(jobId)?.[1]);
  return Number.isFinite(ms) && ms > 0 ? ms : fallback;
}

/**
 * The daily backup: one job per day from a BullMQ job scheduler, however many workers run.
 * The result goes to the ops channel; a failure pages like a critical alert.
 */
export const scheduledBackupProcessor = defineJob(scheduledBackupJob, async ({ environment }, ctx) => {
  const at = dueAt(ctx.job.id, ctx.now());
  // The database locked like any backup: a 02:00 backup never runs under a restore, which
  // counts as a failed backup (told and paged) rather than a silent skip.
  const { id, run } = await lockedBackup(ctx, environment, 'scheduled', { seed: ctx.job.id, at });
  // The page first: a Slack hiccup must not swallow it.
  if (!run.ok && ctx.pagerduty.enabled) {
    const day = new Date(at).toISOString().slice(0, 10);
    await ctx.queues.enqueue(
      pagerDutyEventJob,
      {
        action: 'trigger',
        dedupKey: `azora-backup-failed-${environment}-${day}`,
        summary:
          `Scheduled backup of the ${environment} database failed: ${run.reason ?? 'no reason given'}`.slice(
            0,
            1000,
          ),
        source: `${environment}/database`,
        severity: 'critical',
      },
      { jobId: `pd-backup-${environment}-${day}` },
    );
  }
  await ctx.messenger.post(
    ctx.policy.channels.ops,
    backupResultMessage(environment, run, 'the daily schedule'),
  );
  await ctx.audit.record({
    type: run.ok ? 'backup-succeeded' : 'backup-failed',
    actor: 'bot',
    environment,
    detail: run.ok
      ? `${id}: ${run.bytes ?? '?'} bytes (scheduled)`
      : `${id}: ${run.reason ?? ''} (scheduled)`,
  });
  return { backup: id, ok: run.ok };
});
