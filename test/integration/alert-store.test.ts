import { Redis } from 'ioredis';
import { defaultPolicyPath, loadPolicy } from '../../src/config/policy';
import { notificationSchema, type Notification } from '../../src/alerts/domain/payload';
import { AlertStore } from '../../src/alerts/store';
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

  const noDigest = () => Promise.resolve(undefined);

  it('opens a new group once when two deliveries race to create it, and keeps both', async () => {
    const [first, second] = await Promise.all([
      store.apply(firing('a'), policy, 1, noDigest),
      store.apply(firing('a', 'b'), policy, 2, noDigest),
    ]);
    const kinds = [...first.changes, ...second.changes].map((c) => c.kind);
    expect(kinds.filter((k) => k === 'opened')).toHaveLength(1);
    const stored = await store.get(first.group.id);
    expect(Object.keys(stored!.alerts).sort()).toEqual(['a', 'b']);
  });

  it('loses no alert when deliveries race on an existing group (the stale one retries)', async () => {
    const { group } = await store.apply(firing('a'), policy, 1, noDigest);
    await Promise.all([
      store.apply(firing('a', 'b'), policy, 2, noDigest),
      store.apply(firing('a', 'c'), policy, 3, noDigest),
    ]);
    expect(Object.keys((await store.get(group.id))!.alerts).sort()).toEqual(['a', 'b', 'c']);
  });

  it('puts groups in the storm digest from the threshold on, all in one, each place fixed when first asked', async () => {
    const digestOf = (group: string, now: number) => store.stormDigest('C0ALERTS', group, now, 2);
    expect(await digestOf('g1', 1_000)).toBeUndefined();
    expect(await digestOf('g2', 1_001)).toBeUndefined();
    const digest = await digestOf('g3', 1_002);
    expect(digest).toBe('digest-C0ALERTS-1002');
    expect(await digestOf('g4', 1_003)).toBe(digest);
    // Asked again (a retried job), a group keeps its place.
    expect(await digestOf('g1', 1_004)).toBeUndefined();
    expect(await digestOf('g3', 1_005)).toBe(digest);
    // A minute later the storm is over: a new group opens a thread of its own.
    expect(await digestOf('g5', 1_003 + 60_001)).toBeUndefined();
  });
});
