import { Redis } from 'ioredis';
import { ChangeLocks } from '../../src/requests/locks';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';
import { waitFor } from '../kit/wait';

// ChangeLocks on the local Redis (its release is a Lua script); no timing but holdWhile's.
const LEASE = 600_000;
const AT = Date.UTC(2026, 10, 26, 10, 0);

describe('ChangeLocks', () => {
  let redis: Redis;
  let prefix: string;
  let locks: ChangeLocks;

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  beforeEach(() => {
    prefix = uniquePrefix();
    locks = new ChangeLocks(redis, prefix);
  });
  afterEach(() => dropPrefix(prefix));
  afterAll(() => redis.quit());

  it('acquireAll takes every lock or none, and names the holder in the way', async () => {
    expect(await locks.acquire('production', 'auth', 'r2', LEASE)).toEqual({ ok: true });

    expect(await locks.acquireAll('production', ['api-gateway', 'auth', 'payment'], 'r1', LEASE)).toEqual({
      ok: false,
      holder: 'r2',
    });

    expect(await locks.holder('production', 'api-gateway')).toBeNull();
    expect(await locks.holder('production', 'auth')).toBe('r2');
    expect(await locks.holder('production', 'payment')).toBeNull();
  });

  it('acquireAll takes them all when they are free, per environment', async () => {
    await locks.acquire('staging', 'auth', 'r2', LEASE);

    expect(await locks.acquireAll('production', ['auth', 'payment'], 'r1', LEASE)).toEqual({ ok: true });

    expect(await locks.holder('production', 'auth')).toBe('r1');
    expect(await locks.holder('production', 'payment')).toBe('r1');
    expect(await locks.holder('staging', 'auth')).toBe('r2');
  });

  it('is renewed by its holder (a retried job), not taken by another', async () => {
    await locks.acquire('production', 'auth', 'r1', 1_000);

    expect(await locks.acquireAll('production', ['auth'], 'r1', LEASE)).toEqual({ ok: true });
    expect(await redis.pttl(`${prefix}:lock:production:auth`)).toBeGreaterThan(1_000);

    expect(await locks.acquire('production', 'auth', 'r2', LEASE)).toEqual({ ok: false, holder: 'r1' });
    expect(await locks.holder('production', 'auth')).toBe('r1');
  });

  it('is released only by its holder', async () => {
    await locks.acquireAll('production', ['auth', 'payment'], 'r1', LEASE);

    await locks.releaseAll('production', ['auth', 'payment'], 'r2');
    expect(await locks.holder('production', 'auth')).toBe('r1');
    expect(await locks.holder('production', 'payment')).toBe('r1');

    await locks.release('production', 'auth', 'r1');
    expect(await locks.holder('production', 'auth')).toBeNull();
    await locks.releaseAll('production', ['payment'], 'r1');
    expect(await locks.holder('production', 'payment')).toBeNull();
  });

  it('holds for its lease, and is free to take once the lease has ended', async () => {
    await locks.acquire('production', 'auth', 'r1', LEASE);
    const ttl = await redis.pttl(`${prefix}:lock:production:auth`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(LEASE);

    // What Redis does when the lease ends (a crashed worker), without waiting for it.
    await redis.del(`${prefix}:lock:production:auth`);
    expect(await locks.acquire('production', 'auth', 'r2', LEASE)).toEqual({ ok: true });
  });

  describe('holdWhile', () => {
    // Real time here: what is tested is a step outlasting the lease.
    const SHORT = 300;
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    it('keeps the locks past their lease while the work runs, and leaves them to lapse after', async () => {
      await locks.acquireAll('production', ['auth', 'payment'], 'r1', SHORT);
      const lost: string[] = [];
      const result = await locks.holdWhile(
        'production',
        ['auth', 'payment'],
        'r1',
        SHORT,
        async () => {
          await pause(SHORT * 3);
          // Three leases later, another change is still kept out.
          expect(await locks.acquire('production', 'payment', 'r2', LEASE)).toEqual({
            ok: false,
            holder: 'r1',
          });
          return 'done';
        },
        { lost: (service) => void lost.push(service), maxHoldMs: 60_000 },
      );
      expect(result).toBe('done');
      expect(lost).toEqual([]);
      expect(await redis.pttl(`${prefix}:lock:production:auth`)).toBeLessThanOrEqual(SHORT);
    });

    it('never takes back a lock another request holds, and says so once', async () => {
      await locks.acquire('production', 'auth', 'r1', SHORT);
      const lost: string[] = [];
      await locks.holdWhile(
        'production',
        ['auth'],
        'r1',
        SHORT,
        async () => {
          // The lease ran out under a stalled worker, and another change took the lock.
          await redis.set(`${prefix}:lock:production:auth`, 'r2', 'PX', LEASE);
          await waitFor(
            () => lost.length,
            (n) => n > 0,
            { what: 'the lapse reported' },
          );
          await pause(SHORT);
        },
        { lost: (service) => void lost.push(service), maxHoldMs: 60_000 },
      );
      expect(lost).toEqual(['auth']);
      expect(await locks.holder('production', 'auth')).toBe('r2');
    });

    it('stops renewing once the run no longer owns its job, or after the longest hold', async () => {
      for (const options of [
        { maxHoldMs: 60_000, owned: async () => false },
        { maxHoldMs: SHORT / 2, owned: async () => true },
      ]) {
        await locks.acquire('production', 'auth', 'r1', SHORT);
        await locks.holdWhile(
          'production',
          ['auth'],
          'r1',
          SHORT,
          async () => {
            await pause(SHORT * 2);
            // Not renewed: the lease ran out under a hung step, and the service is free again.
            expect(await locks.holder('production', 'auth')).toBeNull();
          },
          { lost: () => undefined, ...options },
        );
      }
    });
  });

  describe('lastScale', () => {
    it('is undefined before any scale', async () => {
      expect(await locks.lastScale('production', 'auth')).toBeUndefined();
    });

    it('ignores the scale of the request that holds the lock now, not that of another', async () => {
      await locks.acquire('production', 'auth', 'r1', LEASE);
      await locks.recordScale('production', 'auth', AT);

      // r1 retried after a transient failure: its own scale starts no cooldown for it.
      expect(await locks.lastScale('production', 'auth')).toBeUndefined();

      await locks.release('production', 'auth', 'r1');
      expect(await locks.lastScale('production', 'auth')).toBe(AT);

      await locks.acquire('production', 'auth', 'r2', LEASE);
      expect(await locks.lastScale('production', 'auth')).toBe(AT);
    });

    it('counts a scale recorded without a holder for everyone', async () => {
      await locks.recordScale('production', 'auth', AT);
      await locks.acquire('production', 'auth', 'r1', LEASE);

      expect(await locks.lastScale('production', 'auth')).toBe(AT);
    });

    it('is kept per environment and service, the newest record winning', async () => {
      await locks.recordScale('production', 'auth', AT);
      await locks.recordScale('production', 'auth', AT + 60_000);

      expect(await locks.lastScale('production', 'auth')).toBe(AT + 60_000);
      expect(await locks.lastScale('staging', 'auth')).toBeUndefined();
      expect(await locks.lastScale('production', 'payment')).toBeUndefined();
    });
  });
});
