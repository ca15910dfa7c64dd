import { defineJob } from '../src/deps';
import { scheduledBackupJob } from '../src/backups/contracts';
import { saltOf, takeBackup, type JobRun } from '../src/backups/run';
import { databaseJobName } from '../src/backups/domain/job';
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
  let id = databaseJobName('backup', environment, at, saltOf(ctx.job.id));
  let run: JobRun;
  try {
    ({ id, run } = await takeBackup(ctx, environment, 'scheduled', { seed: ctx.job.id, at }));
  } catch (err) {
    // No Job, or no answer about it (the API down, RBAC, a quota): a failed backup all the same,
    // told and paged below rather than lost in a failed job nobody watches.
    run = {
      job: id,
      ok: false,
      reason: `the bot could not run its Job: ${(err as Error).message}`,
      durationMs: 0,
    };
  }
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
