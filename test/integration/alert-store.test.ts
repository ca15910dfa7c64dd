import { Redis } from 'ioredis';
import { defaultPolicyPath, loadPolicy } from '../../src/config/policy';
import { notificationSchema, type Notification } from '../../src/alerts/domain/payload';
import { AlertStore } from '../../src/alerts/store';
import { channelFor, groupIdOf } from '../../src/alerts/domain/group';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';

const policy = loadPolicy(defaultPolicyPath());
const labels = {
  alertname: 'AzoraHighErrorRate',
  severity: 'critical',
  namespace: 'azora-production',
  service: 'payment',
};

/** Alertmanager's notification for the payment group with these alerts firing. */
const firing = (...fingerprints: string[]): Notification =>
  notificationSchema.parse({
    version: '4',
    groupKey: '{}:{alertname="AzoraHighErrorRate", service="payment"}',
    status: 'firing',
    receiver: 'azora',
    groupLabels: { alertname: labels.alertname, service: labels.service },
    commonLabels: labels,
    commonAnnotations: { summary: 'Error rate above 5%' },
    alerts: fingerprints.map((fingerprint) => ({
      status: 'firing',
      labels: { ...labels, pod: `pod-${fingerprint}` },
      annotations: { summary: 'Error rate above 5%' },
      startsAt: '2026-11-26T03:00:00Z',
      fingerprint,
    })),
  });

describe('alert groups in Redis, folded by several workers at once', () => {
  let redis: Redis;
  let prefix: string;
  let store: AlertStore;
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  beforeEach(() => {
    prefix = uniquePrefix();
    store = new AlertStore(redis, prefix);
  });
  afterEach(() => dropPrefix(prefix));
  afterAll(() => redis.quit());

  it('opens a new group once when two deliveries race to create it, and keeps both', async () => {
    const [first, second] = await Promise.all([
      store.apply(firing('a'), policy, 1),
      store.apply(firing('a', 'b'), policy, 2),
    ]);
    const kinds = [...first.changes, ...second.changes].map((c) => c.kind);
    expect(kinds.filter((k) => k === 'opened')).toHaveLength(1);
    const stored = await store.get(first.group.id);
    expect(Object.keys(stored!.alerts).sort()).toEqual(['a', 'b']);
  });

  it('keeps a group that fires unchanged: a repeat renews its retention', async () => {
    const { group } = await store.apply(firing('a'), policy, 1);
    const key = `${prefix}:alert:${group.id}`;
    expect(await redis.exists(key)).toBe(1);
    // Two weeks on, the group as it was: only Alertmanager's repeat has come since.
    await redis.pexpire(key, 1_000);
    const repeat = await store.apply(firing('a'), policy, 2);
    expect(repeat.changes).toEqual([]);
    expect(await redis.pttl(key)).toBeGreaterThan(13 * 86_400_000);
  });

  it('loses no alert when deliveries race on an existing group (the stale one retries)', async () => {
    const { group } = await store.apply(firing('a'), policy, 1);
    await Promise.all([store.apply(firing('a', 'b'), policy, 2), store.apply(firing('a', 'c'), policy, 3)]);
    expect(Object.keys((await store.get(group.id))!.alerts).sort()).toEqual(['a', 'b', 'c']);
  });

  it('puts new groups in the storm digest from the threshold on, all in one, in the read that finds them new', async () => {
    const storming = { ...policy, alerts: { ...policy.alerts, stormGroupsPerMinute: 2 } };
    const inGroup = (name: string): Notification => ({
      ...firing('a'),
      groupKey: `{}:{alertname="${name}"}`,
    });
    const digestOf = async (name: string, now: number) =>
      (await store.apply(inGroup(name), storming, now)).group.digest;
    const channel = channelFor(storming, 'critical');
    expect(await digestOf('g1', 1_000)).toBeUndefined();
    expect(await digestOf('g2', 1_001)).toBeUndefined();
    const digest = await digestOf('g3', 1_002);
    expect(digest).toBe(`digest-${channel}-1002`);
    expect(await digestOf('g4', 1_003)).toBe(digest);
    // A group seen again keeps what it was given.
    expect(await digestOf('g1', 1_004)).toBeUndefined();
    expect(await digestOf('g3', 1_005)).toBe(digest);
    // A minute later the storm is over: a new group opens a thread of its own.
    expect(await digestOf('g5', 1_003 + 60_001)).toBeUndefined();
    // The place of a group that was asked for and not stored (a job that failed after it)
    // stays what it was: asked again, it is the same.
    const place = (name: string) =>
      redis.hget(`${prefix}:alerts:place:${channel}`, groupIdOf(`{}:{alertname="${name}"}`));
    expect(await place('g4')).toBe('3');
    expect(await place('g5')).toBe('0');
  });
});
