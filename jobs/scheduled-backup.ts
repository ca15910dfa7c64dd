import { defineJob } from '../src/deps';
import { scheduledBackupJob } from '../src/backups/contracts';
import { lockedBackup } from '../src/backups/run';
import { backupResultMessage } from '../src/backups/views';
import { pagerDutyEventJob } from '../src/alerts/contracts';
import { code, md, note } from '../src/kernel/slack/blocks';
import { formatDuration } from '../src/kernel/domain/duration';

/** A busy database is tried again this often, this many times in all (two hours). */
const BUSY_RETRY_MS = 10 * 60_000;
const BUSY_TRIES = 13;

/** When a scheduler's job was due: BullMQ names them `repeat:<key>:<ms>`. */
function dueAt(jobId: string, fallback: number): number {
  const ms = Number(/:(\d{12,})$/.exec(jobId)?.[1]);
  return Number.isFinite(ms) && ms > 0 ? ms : fallback;
}

/**
 * The daily backup: one job per day from a BullMQ job scheduler, however many workers run.
 * The result goes to the ops channel; a failure pages like a critical alert.
 */
export const scheduledBackupProcessor = defineJob(
  scheduledBackupJob,
  async ({ environment, postponed }, ctx) => {
    const at = postponed?.due ?? dueAt(ctx.job.id, ctx.now());
    const seed = postponed?.seed ?? ctx.job.id;
    const tries = postponed?.tries ?? 1;
    // The database locked like any backup: a 02:00 backup never runs under a restore or a
    // deploy's own backup. It waits for them (a page at 2 AM for a lock is a false alarm),
    // and only a database still busy after BUSY_TRIES counts as a failed backup, told and paged.
    const { id, run, busy } = await lockedBackup(ctx, environment, 'scheduled', { seed, at });
    if (busy && tries < BUSY_TRIES) {
      const day = new Date(at).toISOString().slice(0, 10);
      await ctx.queues.enqueue(
        scheduledBackupJob,
        { environment, postponed: { seed, due: at, tries: tries + 1 } },
        { jobId: `scheduled-backup-${environment}-${day}-try-${tries + 1}`, delay: BUSY_RETRY_MS },
      );
      // Said once, when first put off; the next tries are quiet until one runs or the last fails.
      if (tries === 1)
        await ctx.messenger.post(
          ctx.policy.channels.ops,
          note(
            md`:hourglass: The daily backup of ${environment} waits: the database is busy with ${code(busy)}. It tries again every ${formatDuration(BUSY_RETRY_MS)}, for up to ${formatDuration(BUSY_RETRY_MS * (BUSY_TRIES - 1))}.`,
          ),
        );
      return { backup: id, ok: false, postponed: tries };
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
  },
);
