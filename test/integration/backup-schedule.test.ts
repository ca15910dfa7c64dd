import { Redis } from 'ioredis';
import { scheduleBackups } from '../../src/backups/schedule';
import { Queues } from '../../src/kernel/queue/queues';
import { scheduledBackupJob } from '../../src/backups/contracts';
import { testPolicy } from '../kit/policy';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';

/** The daily backup's BullMQ scheduler, as every worker sets it up when it starts. */
describe('the daily backup schedule', () => {
  const prefix = uniquePrefix();
  let redis: Redis;
  let queues: Queues;
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    queues = new Queues(redis, prefix);
  });
  afterAll(async () => {
    await queues.close();
    await dropPrefix(prefix);
    await redis.quit();
  });

  const policyAt = (schedule: string) => {
    const policy = testPolicy();
    policy.backups.production = { ...policy.backups.production!, schedule };
    return policy;
  };
  const delayed = async () =>
    (await queues.get(scheduledBackupJob.queue).getJobs(['delayed'])).map((j) => j.id).sort();

  it('leaves a scheduler as the policy has it alone, so a run that is due stays due; a new time replaces it', async () => {
    await scheduleBackups(policyAt('02:00'), queues);
    const first = await delayed();
    expect(first).toHaveLength(1);
    expect(first[0]).toMatch(/^repeat:scheduled-backup-production:\d+$/);
    const upsert = jest.spyOn(queues.get(scheduledBackupJob.queue), 'upsertJobScheduler');
    // Another worker starting (after 02:00 with nobody up, this dropped the day's run).
    await scheduleBackups(policyAt('02:00'), queues);
    expect(upsert).not.toHaveBeenCalled();
    expect(await delayed()).toEqual(first);

    await scheduleBackups(policyAt('03:30'), queues);
    expect(upsert).toHaveBeenCalledTimes(1);
    const next = Number((await delayed())[0]!.split(':').at(-1));
    expect(new Date(next).toISOString().slice(11, 16)).toBe('03:30');
    upsert.mockRestore();
  });
});
