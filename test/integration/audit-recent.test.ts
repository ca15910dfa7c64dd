import { Redis } from 'ioredis';
import { AuditLog } from '../../src/kernel/audit';
import { createLogger } from '../../src/kernel/log';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';

/** The audit events `/azora status` shows, read back from the real Redis stream. */
describe('the newest audit events of an environment', () => {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  const prefix = uniquePrefix();
  const audit = new AuditLog(redis, prefix, createLogger('silent'));
  afterAll(async () => {
    await dropPrefix(prefix);
    await redis.quit();
  });

  it('are found behind a burst of another environment’s, and come newest first', async () => {
    const event = (environment: string, detail: string) => ({
      type: 'succeeded',
      actor: 'U0ENGINEER',
      environment,
      detail,
    });
    await audit.record(event('staging', 'scale staging payment 3'));
    await audit.record(event('staging', 'scale staging payment 4'));
    // A bystander's refused production commands, hundreds of them.
    for (let i = 0; i < 500; i++)
      await audit.record({ ...event('production', `refused ${i}`), type: 'access-refused' });

    expect((await audit.recent(8, 'staging')).map((e) => e.detail)).toEqual([
      'scale staging payment 4',
      'scale staging payment 3',
    ]);
    expect((await audit.recent(2, 'production')).map((e) => e.detail)).toEqual([
      'refused 499',
      'refused 498',
    ]);
    expect((await audit.recent(3)).map((e) => e.detail)).toEqual([
      'refused 499',
      'refused 498',
      'refused 497',
    ]);
  });
});
