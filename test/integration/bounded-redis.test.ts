import { Redis } from 'ioredis';
import type { MaintenanceWindow } from '../../src/maintenance/domain/window';
import { MAX_ALERTS_PER_GROUP } from '../../src/alerts/domain/group';
import type { OpsRequest } from '../../src/requests/domain/types';
import { AlertStore } from '../../src/alerts/store';
import { MaintenanceStore, MAX_INDEXED as MAX_WINDOWS } from '../../src/maintenance/store';
import { MAX_INDEXED as MAX_REQUESTS, RequestStore } from '../../src/requests/store';
import { actionId } from '../../src/kernel/slack/actions';
import { startTestBot, type TestBot } from '../kit/bot';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import { firingNotification, postNotification, requestIn, untilSettled } from '../kit/flows';
import { APPROVER, ENGINEER, OPS, PROD, STG, WEBHOOK_TOKEN } from '../kit/ids';
import { testPolicy } from '../kit/policy';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';
import { sendButtonClick, sendSlashCommand } from '../kit/slack-requests';
import { waitFor } from '../kit/wait';

/**
 * Keys the bot leaves without a TTL, each bounded another way: BullMQ's own structures
 * (trimmed by removeOnComplete/removeOnFail and its event stream's MAXLEN), the outbox's
 * queues (drained as they are sent), and the audit stream (MAXLEN).
 */
const BOUNDED_WITHOUT_TTL = [
  /:(ops|notify|alerts|logs):(meta|id|events|completed|failed|wait|active|delayed|prioritized|paused|stalled-check|marker|pc|repeat|stalled|limiter|de)$/,
  /:(ops|notify|alerts|logs):(repeat|de):/,
  /:(ops|notify|alerts|logs):[A-Za-z0-9._-]+$/, // a job's hash: removed with the job
  /:(ops|notify|alerts|logs):[A-Za-z0-9._-]+:logs$/,
  /:outbox:(channels|inflight|due:[A-Z0-9]+)$/,
  /:audit$/,
];

describe('Redis stays bounded', () => {
  const prefix = uniquePrefix();
  const redis = new Redis(TEST_REDIS_URL);
  const policy = testPolicy();

  afterAll(async () => {
    await dropPrefix(prefix);
    await redis.quit();
  });

  const memoryOf = async (pattern: string) => {
    let total = 0;
    for (const key of await redis.keys(pattern)) total += (await redis.memory('USAGE', key)) ?? 0;
    return total;
  };

  it('keeps the newest requests of an environment in its index, every request with a TTL', async () => {
    const store = new RequestStore(redis, prefix);
    const n = MAX_REQUESTS + 1_500;
    for (let i = 0; i < n; i++) {
      const request: OpsRequest = {
        id: `r${i.toString(16).padStart(8, '0')}`,
        verb: 'scale',
        environment: 'staging',
        services: ['auth'],
        args: { replicas: 3 },
        requester: ENGINEER,
        channel: OPS,
        source: 'command',
        status: 'succeeded',
        createdAt: 1_700_000_000_000 + i,
        plan: [],
      };
      await store.create(request);
    }
    expect(await redis.zcard(`${prefix}:requests:staging`)).toBe(MAX_REQUESTS);
    expect((await store.recent('staging', 1))[0]!.id).toBe(`r${(n - 1).toString(16).padStart(8, '0')}`);
    expect(await redis.pttl(`${prefix}:requests:staging`)).toBeGreaterThan(0);
    expect(await redis.pttl(`${prefix}:request:r00000000`)).toBeGreaterThan(0);
    // A request is a few hundred bytes: thousands of them stay well under a few MB.
    expect(await memoryOf(`${prefix}:request*`)).toBeLessThan(n * 1_000);
  });

  it('keeps the maintenance index to its latest windows', async () => {
    const store = new MaintenanceStore(redis, prefix);
    const n = MAX_WINDOWS + 500;
    for (let i = 0; i < n; i++) {
      const window: MaintenanceWindow = {
        id: `m${i.toString(16).padStart(6, '0')}`,
        environment: 'staging',
        start: 1_800_000_000_000 + i * 60_000,
        end: 1_800_000_000_000 + i * 60_000 + 3_600_000,
        reason: 'drill',
        requester: ENGINEER,
        status: 'scheduled',
        recurring: false,
        createdAt: 1_790_000_000_000,
      };
      await store.create(window);
    }
    expect(await redis.zcard(`${prefix}:maintenance:by-start`)).toBe(MAX_WINDOWS);
    expect(await redis.pttl(`${prefix}:maintenance:by-start`)).toBeGreaterThan(0);
  });

  it('remembers at most a bounded number of alerts per group, dropping resolved ones first', async () => {
    const store = new AlertStore(redis, prefix);
    const base = firingNotification(
      'AzoraHighCPU',
      { namespace: STG, service: 'auth', severity: 'warning' },
      'cpu',
    );
    for (let round = 0; round < 3; round++) {
      const alerts = Array.from({ length: 400 }, (_, i) => ({
        ...base.alerts[0]!,
        fingerprint: `fp-${round}-${i}`,
        status: (round < 2 ? 'resolved' : 'firing') as 'firing' | 'resolved',
        endsAt: round < 2 ? new Date(1_790_000_000_000 + i).toISOString() : base.alerts[0]!.endsAt,
        labels: { ...base.alerts[0]!.labels, pod: `auth-${round}-${i}` },
      }));
      await store.apply(
        { ...base, version: '4', status: 'firing', alerts, truncatedAlerts: 0 },
        policy,
        Date.now(),
        async () => undefined,
      );
    }
    const group = (await store.get(
      (await redis.keys(`${prefix}:alert:*`))[0]!.slice(`${prefix}:alert:`.length),
    ))!;
    expect(Object.keys(group.alerts)).toHaveLength(MAX_ALERTS_PER_GROUP);
    // Every firing alert is kept; the resolved ones made room.
    expect(Object.values(group.alerts).filter((a) => a.status === 'firing')).toHaveLength(400);
  });
});

describe('every key a running bot writes has a TTL or a bound', () => {
  let cluster: TestCluster;
  let t: TestBot;
  const redis = new Redis(TEST_REDIS_URL);

  beforeAll(async () => {
    cluster = await startTestCluster();
    t = await startTestBot({ cluster, env: { ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN } });
  });
  afterAll(async () => {
    await t.stop();
    await cluster.sim.stop();
    await redis.quit();
  });

  it('after commands, an approved change, alerts and a window', async () => {
    const say = (user: string, text: string) =>
      sendSlashCommand(t.url, t.secret, { text, user, responseUrl: t.slack.responseUrl(OPS, user) });
    await say(ENGINEER, 'status production');
    await say(ENGINEER, 'help');
    await say(ENGINEER, 'scale production auth 4');
    const request = await requestIn(t.slack, 'scale production auth 4');
    await waitFor(
      async () => (await t.bot.deps.requests.get(request.id))?.status,
      (s) => s === 'pending-approval',
    );
    await sendButtonClick(t.url, t.secret, {
      user: APPROVER,
      actionId: actionId('approve', request.id),
      value: request.id,
      messageTs: request.ts,
    });
    await waitFor(
      async () => (await t.bot.deps.requests.get(request.id))?.status,
      (s) => s === 'succeeded' || s === 'failed',
      { what: 'the change to finish' },
    );
    const at = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 16);
    await say(ENGINEER, `maintenance schedule ${at}Z 1h drill`);
    for (const service of ['auth', 'payment']) {
      await postNotification(
        t.url,
        WEBHOOK_TOKEN,
        firingNotification('AzoraHighCPU', { namespace: PROD, service, severity: 'warning' }, 'cpu'),
      );
    }
    await untilSettled(t.bot);
    await waitFor(
      async () => (await t.bot.deps.maintenanceWindows.upcoming(Date.now())).filter((w) => !w.recurring),
      (w) => w.length === 1,
    );

    const unbounded: string[] = [];
    for (const key of await redis.keys(`${t.prefix}:*`)) {
      if ((await redis.pttl(key)) > 0) continue;
      if (!BOUNDED_WITHOUT_TTL.some((pattern) => pattern.test(key))) unbounded.push(key);
    }
    expect(unbounded).toEqual([]);
  });
});
