import type { Policy } from '../config/policy';
import { ENVIRONMENTS } from '../kernel/domain/environment';
import type { Queues } from '../kernel/queue/queues';
import { scheduledBackupJob } from './contracts';

/**
 * The daily backups as BullMQ job schedulers, one per environment with a `schedule`:
 * every worker upserts the same ones (idempotent), and BullMQ runs each tick once across
 * them all. An environment whose schedule went from the policy loses its scheduler.
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
    await queue.upsertJobScheduler(
      id,
      { pattern: `0 ${Number(minutes)} ${Number(hours)} * * *`, tz: 'UTC' },
      { name: scheduledBackupJob.name, data: { environment: env } },
    );
  }
}
