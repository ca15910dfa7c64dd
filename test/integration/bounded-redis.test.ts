import { Redis } from 'ioredis';
import type { MaintenanceWindow } from '../../src/maintenance/domain/window';
import { MAX_ALERTS_PER_GROUP } from '../../src/alerts/domain/group';
import type { OpsRequest } from '../../src/requests/domain/types';
import { RequestGate } from '../../src/access/gate';
import { AlertStore } from '../../src/alerts/store';
import { BackupStore } from '../../src/backups/store';
import type { Incident } from '../../src/incidents/domain/incident';
import { IncidentStore, MAX_INDEXED as MAX_INCIDENTS } from '../../src/incidents/store';
import { AuditLog } from '../../src/kernel/audit';
import { createLogger } from '../../src/kernel/log';
import { MaintenanceStore, MAX_UPCOMING_WINDOWS } from '../../src/maintenance/store';
import { ReleaseStore } from '../../src/releases/store';
import { RunbookClaims } from '../../src/requests/runbooks';
import { MAX_INDEXED as MAX_REQUESTS, RequestStore } from '../../src/requests/store';
import { actionId } from '../../src/kernel/slack/actions';
import { QUEUE_NAMES } from '../../src/kernel/queue/define';
import { startTestBot, type TestBot } from '../kit/bot';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import { firingNotification, postNotification, requestIn, untilSettled } from '../kit/flows';
import { APPROVER, ENGINEER, OPS, PROD, STG, WEBHOOK_TOKEN } from '../kit/ids';
import { testPolicy } from '../kit/policy';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';
import { sendButtonClick, sendSlashCommand } from '../kit/slack-requests';
import { waitFor } from '../kit/wait';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = 1_800_000_000_000;

/** What the stores are put through: thousands of each, past every index's bound. */
const LOAD = {
  requests: MAX_REQUESTS + 2_000,
  alertGroups: 2_000,
  windows: 3_000,
  incidents: MAX_INCIDENTS + 300,
  releases: 2_000,
  backups: 1_000,
  deliveries: 3_000,
  users: 50,
  follows: 1_000,
  claims: 1_000,
  audit: 11_000,
};
/** The audit stream's MAXLEN (src/kernel/audit.ts), trimmed approximately (`~`): a node's worth over. */
const AUDIT_MAX = 10_000;
const AUDIT_SLACK = 200;
const BACKUPS_KEPT = 7;
const FOLLOWS_AT_ONCE = 2;
const SERVICES = ['api-gateway', 'auth', 'payment', 'education'];

/**
 * The bound on the keys: one per document (request, its job's id, alert group, window,
 * incident with its timeline and links, replay digest, runbook claim), a handful per
 * index and per user. An index that made a key per entry would cross it.
 */
const KEY_BOUND =
  2 * LOAD.requests +
  LOAD.alertGroups +
  LOAD.windows +
  4 * LOAD.incidents +
  LOAD.deliveries +
  LOAD.claims +
  3 * LOAD.users +
  50;
/**
 * The bound on memory, as Redis counts it (MEMORY USAGE over the prefix): each document a
 * few hundred bytes of JSON, the indexes capped, the audit stream at most ~10,000 events.
 * About 6.5 MB is measured; the bound leaves room for encodings, not for a key that keeps
 * its whole history.
 */
const MEMORY_BOUND = 12 * 1024 * 1024;

/** Runs `count` operations `width` at a time. */
async function inBatches(count: number, width: number, run: (i: number) => Promise<unknown>): Promise<void> {
  for (let from = 0; from < count; from += width) {
    await Promise.all(Array.from({ length: Math.min(width, count - from) }, (_, k) => run(from + k)));
  }
}

describe('Redis stays bounded under thousands of operations', () => {
  const prefix = uniquePrefix();
  const policy = testPolicy();
  const logger = createLogger('silent');
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    await dropPrefix(prefix);
    await redis.quit();
  });

  const id = (letter: string, i: number) => `${letter}${i.toString(16).padStart(8, '0')}`;

  it('keeps the newest requests of an environment in its index, every request with a TTL', async () => {
    const store = new RequestStore(redis, prefix);
    await inBatches(LOAD.requests, 100, async (i) => {
      const request: OpsRequest = {
        id: id('r', i),
        verb: 'scale',
        environment: 'staging',
        services: ['auth'],
        args: { replicas: 3 },
        requester: ENGINEER,
        channel: OPS,
        source: 'command',
        status: 'succeeded',
        createdAt: T0 + i,
        plan: [],
      };
      await store.idForJob(`plan-${i}`);
      await store.create(request);
    });
    expect(await redis.zcard(`${prefix}:requests:staging`)).toBe(MAX_REQUESTS);
    expect((await store.recent('staging', 1))[0]!.id).toBe(id('r', LOAD.requests - 1));
  });

  it('keeps one document per alert group, each with a TTL', async () => {
    const store = new AlertStore(redis, prefix);
    await inBatches(LOAD.alertGroups, 50, async (i) => {
      const service = SERVICES[i % SERVICES.length]!;
      const notification = firingNotification(
        `AzoraSynthetic${i}`,
        { namespace: i % 2 ? PROD : STG, service, severity: 'warning' },
        `synthetic alert ${i}`,
      );
      await store.apply(
        {
          ...notification,
          version: '4',
          status: 'firing',
          alerts: notification.alerts.map((a) => ({ ...a, status: 'firing' as const })),
        },
        policy,
        T0 + i,
      );
    });
    expect(await redis.keys(`${prefix}:alert:*`)).toHaveLength(LOAD.alertGroups);
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
      );
    }
    const groups = await Promise.all(
      (await redis.keys(`${prefix}:alert:*`)).map((key) => store.get(key.slice(`${prefix}:alert:`.length))),
    );
    const group = groups.find((g) => g?.alertname === 'AzoraHighCPU')!;
    expect(Object.keys(group.alerts)).toHaveLength(MAX_ALERTS_PER_GROUP);
    // Every firing alert is kept; the resolved ones made room.
    expect(Object.values(group.alerts).filter((a) => a.status === 'firing')).toHaveLength(400);
  });

  it('indexes only the maintenance windows that may still run, as time goes by', async () => {
    const store = new MaintenanceStore(redis, prefix);
    // One window an hour, each announced three days ahead.
    for (let i = 0; i < LOAD.windows; i++) {
      const start = T0 + i * HOUR;
      const window: MaintenanceWindow = {
        id: id('m', i),
        environment: 'staging',
        start,
        end: start + HOUR,
        reason: 'drill',
        requester: ENGINEER,
        status: 'scheduled',
        recurring: false,
        createdAt: start - 3 * DAY,
      };
      expect(await store.create(window)).toBe(true);
    }
    // The last was made at its start minus 3 days; what started more than 2 days before that is over.
    const indexed = await redis.zcard(`${prefix}:maintenance:by-start`);
    expect(indexed).toBe(5 * 24 + 1);
    expect(indexed).toBeLessThanOrEqual(MAX_UPCOMING_WINDOWS);
    const last = T0 + (LOAD.windows - 1) * HOUR;
    expect((await store.upcoming(last - HOUR)).map((w) => w.id)).toEqual([
      id('m', LOAD.windows - 2),
      id('m', LOAD.windows - 1),
    ]);
  });

  it('keeps the newest incidents in its index, and only the open ones as open', async () => {
    const store = new IncidentStore(redis, prefix);
    await inBatches(LOAD.incidents, 50, async (i) => {
      const incident: Incident = {
        id: id('i', i),
        title: `incident ${i}`,
        severity: 'sev2',
        status: 'investigating',
        environment: 'production',
        services: ['payment'],
        channel: id('C', i),
        channelName: `inc-${i}`,
        commander: ENGINEER,
        declaredBy: ENGINEER,
        declaredAt: T0 + i,
        alertGroups: [id('g', i)],
        requests: [],
        lastStatusAt: T0 + i,
      };
      await store.create(incident, { at: T0 + i, actor: ENGINEER, kind: 'alert-opened', text: 'declared' });
      // All but the last ten are resolved meanwhile.
      if (i < LOAD.incidents - 10) await store.closed(incident.id);
    });
    expect(await redis.zcard(`${prefix}:incidents`)).toBe(MAX_INCIDENTS);
    expect(await redis.zcard(`${prefix}:incidents-open`)).toBe(10);
  });

  it('keeps each service’s release index to the policy’s history, and the backup index to what is kept', async () => {
    const releases = new ReleaseStore(redis, prefix);
    const limit = policy.releases.history;
    // Writes to one service are serialized by its change lock: one at a time per service.
    await inBatches(LOAD.releases / SERVICES.length, 1, (i) =>
      Promise.all(
        SERVICES.map((service) =>
          releases.add(
            'production',
            service,
            {
              id: id('r', i),
              action: 'deploy',
              version: `v1.${i}.0`,
              image: `registry.azora.example/${service}:v1.${i}.0`,
              requester: ENGINEER,
              start: T0 + i,
              end: T0 + i + 1,
              result: 'succeeded',
            },
            limit,
          ),
        ),
      ),
    );
    for (const service of SERVICES) expect(await releases.history('production', service)).toHaveLength(limit);

    // Each backup is recorded, then what is beyond the policy's `keep` is forgotten (as takeBackup prunes).
    const backups = new BackupStore(redis, prefix);
    for (let i = 0; i < LOAD.backups; i++) {
      const env = i % 2 ? 'production' : 'staging';
      await backups.record({
        id: id('b', i),
        environment: env,
        by: 'scheduled',
        ok: true,
        bytes: 1_000,
        startedAt: T0 + i,
        finishedAt: T0 + i + 1,
      });
      const all = await backups.all(env);
      await backups.forget(
        env,
        all.slice(BACKUPS_KEPT).map((b) => b.id),
      );
    }
    expect(await redis.hlen(`${prefix}:backups:staging`)).toBe(BACKUPS_KEPT);
    expect(await redis.hlen(`${prefix}:backups:production`)).toBe(BACKUPS_KEPT);
  });

  it('bounds replays, rate limits, follow slots, runbook claims and the audit stream', async () => {
    const gate = new RequestGate(redis, prefix);
    const limits = [
      { name: 'commands' as const, perMinute: 20 },
      { name: 'changes' as const, perMinute: 5 },
    ];
    await inBatches(LOAD.deliveries, 100, (i) =>
      gate.admit(`command:${id('U', i % LOAD.users)}:${i}`, id('U', i % LOAD.users), limits),
    );
    await inBatches(LOAD.follows, 50, (i) =>
      gate.reserveFollow(
        id('U', i % LOAD.users),
        `slot-${i}`,
        Date.now(),
        Date.now() + 60_000,
        FOLLOWS_AT_ONCE,
      ),
    );
    for (let u = 0; u < LOAD.users; u++)
      expect(await redis.zcard(`${prefix}:follows:${id('U', u)}`)).toBeLessThanOrEqual(FOLLOWS_AT_ONCE);

    const claims = new RunbookClaims(redis, prefix, new RequestStore(redis, prefix), 15 * 60_000, Date.now);
    await inBatches(LOAD.claims, 100, (i) =>
      claims.claim(id('g', i), 1, { id: id('r', i), requester: ENGINEER }),
    );

    const audit = new AuditLog(redis, prefix, logger);
    await inBatches(LOAD.audit, 200, (i) =>
      audit.record({ type: 'requested', actor: ENGINEER, environment: 'staging', detail: `request ${i}` }),
    );
    expect(await redis.xlen(`${prefix}:audit`)).toBeLessThanOrEqual(AUDIT_MAX + AUDIT_SLACK);
  });

  it('leaves every key with a TTL or a bound, fewer keys than stated, and less memory', async () => {
    const found = await redis.keys(`${prefix}:*`);
    expect(found.length).toBeLessThanOrEqual(KEY_BOUND);
    const ttls = await redis.pipeline(found.map((key) => ['pttl', key])).exec();
    // The audit stream is the one key without a TTL: it is capped by MAXLEN instead (checked above).
    const unbounded = found.filter((key, i) => (ttls![i]![1] as number) <= 0 && key !== `${prefix}:audit`);
    expect(unbounded).toEqual([]);
    const usage = await redis.pipeline(found.map((key) => ['memory', 'USAGE', key])).exec();
    const bytes = usage!.reduce((sum, [, value]) => sum + ((value as number | null) ?? 0), 0);
    expect(bytes).toBeLessThan(MEMORY_BOUND);
  });
});

/**
 * Keys a running bot leaves without a TTL, each bounded another way: BullMQ's own structures
 * (trimmed by removeOnComplete/removeOnFail and its event stream's MAXLEN), the outbox's
 * queues (drained as they are sent), and the audit stream (MAXLEN).
 */
const QUEUE = `(${QUEUE_NAMES.join('|')})`;
const BOUNDED_WITHOUT_TTL = [
  new RegExp(
    `:${QUEUE}:(meta|id|events|completed|failed|wait|active|delayed|prioritized|paused|stalled-check|marker|pc|repeat|stalled|limiter|de)$`,
  ),
  new RegExp(`:${QUEUE}:(repeat|de):`),
  new RegExp(`:${QUEUE}:[A-Za-z0-9._-]+$`), // a job's hash: removed with the job
  new RegExp(`:${QUEUE}:[A-Za-z0-9._-]+:logs$`),
  /:outbox:(channels|inflight|due:[A-Z0-9]+)$/,
  /:audit$/,
  // Entries leave when handled; past INBOX_LIMIT waiting, the webhook answers 503 (alert-inbox.test).
  /:alert-inbox$/,
];

describe('every key a running bot writes has a TTL or a bound', () => {
  let cluster: TestCluster;
  let t: TestBot;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(TEST_REDIS_URL);
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
