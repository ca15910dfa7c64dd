import { Redis } from 'ioredis';
import { carriedSnapshot, VersionedStore } from '../../src/kernel/versioned';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';

// VersionedStore on the local Redis (its compare-and-set is a Lua script). Concurrent
// writers are made deterministic: a stale snapshot handed in, or a write queued on the
// same connection ahead of the store's own.
interface Counter {
  count: number;
  by?: string[];
}
const RETENTION = 3_600_000;

describe('VersionedStore', () => {
  let redis: Redis;
  let prefix: string;
  let store: VersionedStore<Counter>;
  let key: string;

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  beforeEach(() => {
    prefix = uniquePrefix();
    key = `${prefix}:counter`;
    store = new VersionedStore<Counter>(redis, RETENTION);
  });
  afterEach(() => dropPrefix(prefix));
  afterAll(() => redis.quit());

  const increment = (who: string) =>
    store.update(key, (current) => ({
      next: { count: (current?.count ?? 0) + 1, by: [...(current?.by ?? []), who] },
      verdict: who,
    }));

  it('creates only once, at version 1, with the retention', async () => {
    expect(await store.create(key, { count: 1 })).toBe(true);
    expect(await store.create(key, { count: 99 })).toBe(false);

    expect(await store.read(key)).toEqual({ value: { count: 1 }, version: 1 });
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(RETENTION);
  });

  it('update creates a missing value, then moves the version on each write', async () => {
    expect(await increment('a')).toEqual({
      changed: true,
      value: { count: 1, by: ['a'] },
      verdict: 'a',
      written: JSON.stringify({ count: 1, by: ['a'], version: 1 }),
    });
    expect(await increment('b')).toMatchObject({ changed: true, value: { count: 2 } });
    expect(await store.read(key)).toEqual({ value: { count: 2, by: ['a', 'b'] }, version: 2 });
  });

  it('leaves the value untouched when decide returns no next', async () => {
    await store.create(key, { count: 5 });

    expect(await store.update(key, (current) => ({ verdict: current?.count }))).toEqual({
      changed: false,
      value: { count: 5 },
      verdict: 5,
    });
    expect((await store.read(key))?.version).toBe(1);
  });

  it('does not write over a concurrent writer: it decides again on what that one stored', async () => {
    await store.create(key, { count: 1, by: ['first'] });
    const stale = await store.read(key);
    await increment('concurrent');

    const seen: (Counter | undefined)[] = [];
    const result = await store.update(
      key,
      (current) => {
        seen.push(current);
        return {
          next: { count: (current?.count ?? 0) + 1, by: [...(current?.by ?? []), 'late'] },
          verdict: null,
        };
      },
      { current: stale },
    );

    expect(seen).toEqual([
      { count: 1, by: ['first'] },
      { count: 2, by: ['first', 'concurrent'] },
    ]);
    expect(result.value).toEqual({ count: 3, by: ['first', 'concurrent', 'late'] });
    expect(await store.read(key)).toEqual({ value: result.value, version: 3 });
  });

  it('writes on a carried snapshot without reading first, while the store holds exactly its text', async () => {
    const { written } = await increment('approver');
    const carried = carriedSnapshot<Counter>(written!);
    const reads = jest.spyOn(redis, 'get');

    try {
      const result = await store.update(key, (current) => ({ next: { count: 10 }, verdict: current }), {
        current: carried,
      });

      expect(reads).not.toHaveBeenCalled();
      expect(result).toMatchObject({ changed: true, verdict: { count: 1, by: ['approver'] } });
      expect(await store.read(key)).toEqual({ value: { count: 10 }, version: 2 });
    } finally {
      reads.mockRestore();
    }
  });

  it('a carried snapshot that differs from the store in anything but its version decides again on what is stored', async () => {
    await increment('approver');
    // The stored version, with other content: what a forged job could carry.
    const forged = carriedSnapshot<Counter>(JSON.stringify({ count: 99, by: ['forger'], version: 1 }));
    const seen: (Counter | undefined)[] = [];

    const result = await store.update(
      key,
      (current) => {
        seen.push(current);
        return { next: { count: (current?.count ?? 0) + 1, by: current?.by ?? [] }, verdict: null };
      },
      { current: forged },
    );

    expect(seen).toEqual([
      { count: 99, by: ['forger'] },
      { count: 1, by: ['approver'] },
    ]);
    expect(result.value).toEqual({ count: 2, by: ['approver'] });
    expect(await store.read(key)).toEqual({ value: { count: 2, by: ['approver'] }, version: 2 });
  });

  it('leaves a value as it is only on what a read found, not on a carried snapshot alone', async () => {
    await increment('approver');
    // A carried text on which the decision would be to leave the value alone.
    const carried = carriedSnapshot<Counter>(JSON.stringify({ count: 0, version: 1 }));
    const seen: (Counter | undefined)[] = [];

    const result = await store.update(
      key,
      (current) => {
        seen.push(current);
        return current?.count === 0 ? { verdict: 'left' } : { next: { count: 2 }, verdict: 'written' };
      },
      { current: carried },
    );

    expect(seen).toEqual([{ count: 0 }, { count: 1, by: ['approver'] }]);
    expect(result).toMatchObject({ changed: true, verdict: 'written' });
    expect(await store.read(key)).toEqual({ value: { count: 2 }, version: 2 });
  });

  it('carries only a stored document back', () => {
    expect(carriedSnapshot('{"count":1,"version":3}')).toEqual({
      value: { count: 1 },
      version: 3,
      stored: '{"count":1,"version":3}',
    });
    for (const text of ['', 'not json', 'null', '7', '{"count":1}', '{"count":1,"version":"3"}'])
      expect(carriedSnapshot(text)).toBeUndefined();
  });

  it('loses no write when many update at once', async () => {
    const writers = Array.from({ length: 8 }, (_, i) => `w${i}`);

    await Promise.all(writers.map(increment));

    const stored = await store.read(key);
    expect(stored?.value.count).toBe(8);
    expect([...(stored?.value.by ?? [])].sort()).toEqual(writers);
    expect(stored?.version).toBe(8);
  });

  it('two creators of a missing value: one creates, the other updates what it created', async () => {
    const [a, b] = await Promise.all([increment('a'), increment('b')]);

    expect([a.changed, b.changed]).toEqual([true, true]);
    expect(await store.read(key)).toMatchObject({ value: { count: 2 }, version: 2 });
  });

  it('gives up after its attempts when another writer always gets in first', async () => {
    await store.create(key, { count: 0 });
    const interloper: Promise<unknown>[] = [];
    let decisions = 0;

    const result = store.update(key, (current) => {
      decisions += 1;
      // Queued on the same connection, so Redis runs it before this attempt's compare-and-set.
      interloper.push(redis.set(key, JSON.stringify({ count: 1000 + decisions, version: 1000 + decisions })));
      return { next: { count: (current?.count ?? 0) + 1 }, verdict: null };
    });

    await expect(result).rejects.toThrow(`${key} kept changing under us; gave up after 10 attempts`);
    await Promise.all(interloper);
    expect(decisions).toBe(10);
    expect(await store.get(key)).toEqual({ count: 1010 });
  });
});
