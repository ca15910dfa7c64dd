import { RequestGate } from '../../src/access/gate';
import { Redis } from 'ioredis';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';

/** Replays, rate limits and follow slots against a real Redis: one script per check. */
describe('the request gate', () => {
  const prefix = uniquePrefix();
  const redis = new Redis(TEST_REDIS_URL);
  const gate = new RequestGate(redis, prefix);
  const limits = [
    { name: 'commands' as const, perMinute: 3 },
    { name: 'changes' as const, perMinute: 1 },
  ];

  afterAll(async () => {
    await dropPrefix(prefix);
    await redis.quit();
  });

  it('admits a delivery once; the same delivery again is a replay and counts nothing', async () => {
    expect(await gate.admit('command:U1:t1', 'U1', limits.slice(0, 1))).toEqual({ ok: true });
    expect(await gate.admit('command:U1:t1', 'U1', limits.slice(0, 1))).toEqual({ ok: false, replay: true });
    expect(await redis.get(`${prefix}:rate:commands:U1`)).toBe('1');
  });

  it('refuses past a per-user limit with the time left in its minute; others are not held back', async () => {
    expect(await gate.admit('d1', 'U2', limits)).toEqual({ ok: true });
    const second = await gate.admit('d2', 'U2', limits);
    expect(second).toMatchObject({ ok: false, replay: false, limit: 'changes' });
    if (!second.ok && !second.replay) {
      expect(second.retryInMs).toBeGreaterThan(1_000);
      expect(second.retryInMs).toBeLessThanOrEqual(60_000);
    }
    expect(await gate.admit('d3', 'U3', limits)).toEqual({ ok: true });
  });

  it('gives a user at most `max` follow slots, says when the first frees, and frees on release or lapse', async () => {
    const now = 1_000_000;
    expect(await gate.reserveFollow('U4', 'a', now, now + 60_000, 2)).toBe(0);
    expect(await gate.reserveFollow('U4', 'b', now, now + 90_000, 2)).toBe(0);
    expect(await gate.reserveFollow('U4', 'c', now, now + 90_000, 2)).toBe(60_000);
    await gate.releaseFollow('U4', 'a');
    expect(await gate.reserveFollow('U4', 'c', now, now + 90_000, 2)).toBe(0);
    // Past their end, the slots lapse on their own: a crashed worker never holds one for ever.
    expect(await gate.reserveFollow('U4', 'd', now + 100_000, now + 160_000, 2)).toBe(0);
    expect(await redis.zcard(`${prefix}:follows:U4`)).toBe(1);
  });

  it('keeps every key it writes bounded in time', async () => {
    const found = await redis.keys(`${prefix}:*`);
    expect(found.length).toBeGreaterThan(0);
    for (const key of found) expect(await redis.pttl(key)).toBeGreaterThan(0);
  });
});
