import { Redis } from 'ioredis';
import type { Incident } from '../../src/incidents/domain/incident';
import { IncidentStore, MAX_INDEXED } from '../../src/incidents/store';
import { feed } from '../../src/incidents/feed';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';

const T0 = Date.UTC(2026, 11, 3, 3, 0);

const incident = (id: string): Incident => ({
  id,
  title: `incident ${id}`,
  severity: 'sev2',
  status: 'investigating',
  environment: 'production',
  services: ['payment'],
  channel: `C${id}`,
  channelName: `inc-${id}`,
  commander: 'U0ENGINEER',
  declaredBy: 'U0ENGINEER',
  declaredAt: T0,
  alertGroups: [],
  requests: [],
  lastStatusAt: T0,
});

describe('the open incidents, read by many alert notifications at once', () => {
  const prefix = uniquePrefix();
  let redis: Redis;
  let store: IncidentStore;
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    store = new IncidentStore(redis, prefix);
  });
  afterAll(async () => {
    await dropPrefix(prefix);
    await redis.quit();
  });

  it('answers those who ask while a read is on its way with that read, and reads afresh after it', async () => {
    await store.create(incident('a'), { at: T0, actor: 'U0ENGINEER', kind: 'status', text: 'a' });
    const zrange = jest.spyOn(redis, 'zrange');
    const answers = await Promise.all(Array.from({ length: 10 }, () => store.open()));
    expect(zrange).toHaveBeenCalledTimes(1);
    expect(answers.map((list) => list.map((i) => i.id))).toEqual(Array(10).fill(['a']));
    // Each caller gets a list of its own.
    expect(new Set(answers).size).toBe(10);

    await store.create(incident('b'), { at: T0, actor: 'U0ENGINEER', kind: 'status', text: 'b' });
    expect((await store.open()).map((i) => i.id).sort()).toEqual(['a', 'b']);
    expect(zrange).toHaveBeenCalledTimes(2);
    await store.closed('a');
    expect((await store.open()).map((i) => i.id)).toEqual(['b']);
    zrange.mockRestore();
  });

  it('adds nothing to an incident resolved after the open ones were read', async () => {
    const entry = { at: T0, actor: 'U0ENGINEER', kind: 'status' as const, text: 'declared' };
    const open = { ...incident('late'), alertGroups: ['g-late'] };
    await store.create(open, entry);
    // Resolved while an event was on its way: the feed read it open a moment before.
    await store.change('late', (current) => ({ next: { ...current, status: 'resolved' }, verdict: null }));
    // What the feed read a moment before: the incident still open.
    const stale = new (class extends IncidentStore {
      override open = async () => [open];
    })(redis, prefix);
    await feed(
      { incidents: stale },
      {
        kind: 'alert-opened',
        actor: 'alertmanager',
        at: T0 + 1,
        text: 'fired again',
        alertGroup: 'g-late',
        key: 'k1',
      },
    );
    expect((await store.timeline('late')).entries.map((e) => e.text)).toEqual(['declared']);
  });

  it('keeps the newest incidents open past as many abandoned ones, and drops those expired', async () => {
    const entry = { at: T0, actor: 'U0ENGINEER', kind: 'status' as const, text: 'x' };
    for (let i = 0; i <= MAX_INDEXED; i++)
      await store.create({ ...incident(`old${i}`), declaredAt: T0 + i }, entry);
    await store.create({ ...incident('newest'), declaredAt: T0 + 10 * MAX_INDEXED }, entry);
    const open = (await store.open()).map((i) => i.id);
    expect(open).toContain('newest');
    expect(open).toHaveLength(MAX_INDEXED);
    // An incident whose record expired leaves the set at the next read.
    await redis.del(`${prefix}:incident:newest`);
    expect((await store.open()).map((i) => i.id)).not.toContain('newest');
    expect(await redis.zscore(`${prefix}:incidents-open`, 'newest')).toBeNull();
  });
});
