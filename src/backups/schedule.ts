import type { Policy } from '../config/policy';
import { ENVIRONMENTS } from '../kernel/domain/environment';
import type { Queues } from '../kernel/queue/queues';
import { scheduledBackupJob } from './contracts';

/**
 * The daily backups as BullMQ job schedulers, one per environment with a `schedule`:
 * every worker upserts the same ones, and BullMQ runs each tick once across them all. A
 * scheduler already as the policy says is left alone: an upsert drops its next run and
 * reckons one from now, so a worker starting after a 02:00 that no worker was up for (a
 * deploy, a crash loop) cancelled that day's backup; left alone, the missed run goes now.
 * An environment whose schedule went from the policy loses its scheduler.
 */
export async function scheduleBackups(policy: Policy, queues: Queues): Promise<void> {
  const queue = queues.get(scheduledBackupJob.queue);
  for (const env of ENVIRONMENTS) {
    const id = `scheduled-backup-${env}`;
    const schedule = policy.backups[env]?.schedule;
    if (!schedule) {
      await queue.removeJobScheduler(id);
      continue;
    }
    const [hours, minutes] = schedule.split(':');
    const pattern = `0 ${Number(minutes)} ${Number(hours)} * * *`;
    const existing = await queue.getJobScheduler(id);
    if (existing?.pattern === pattern && existing.tz === 'UTC' && existing.name === scheduledBackupJob.name)
      continue;
    await queue.upsertJobScheduler(
      id,
      { pattern, tz: 'UTC' },
      { name: scheduledBackupJob.name, data: { environment: env } },
    );
  }
}
