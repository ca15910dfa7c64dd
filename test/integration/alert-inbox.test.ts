import { Redis } from 'ioredis';
import { notificationSchema, type Notification } from '../../src/alerts/domain/payload';
import { AlertInbox } from '../../src/alerts/inbox';
import { startAlertDrain, type AlertDrain, type DrainOptions } from '../../src/alerts/drain';
import { AlertStore } from '../../src/alerts/store';
import { deliveryDigest, groupIdOf } from '../../src/alerts/domain/group';
import { testPolicy } from '../kit/policy';
import type { JobInfo } from '../../src/kernel/queue/define';
import { createLogger } from '../../src/kernel/log';
import { createMetrics } from '../../src/kernel/metrics';
import { systemClock } from '../../src/kernel/clock';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';
import { waitFor } from '../kit/wait';

const notification = (group: string, fingerprint = 'a1'): Notification =>
  notificationSchema.parse({
    version: '4',
    groupKey: `{}:{alertname="AzoraHighCPU", service="${group}"}`,
    status: 'firing',
    receiver: 'azora',
    groupLabels: { alertname: 'AzoraHighCPU', service: group },
    commonLabels: { alertname: 'AzoraHighCPU', severity: 'warning', service: group },
    commonAnnotations: { summary: 'CPU above 80%' },
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'AzoraHighCPU', service: group },
        annotations: {},
        startsAt: '2026-12-03T03:00:00Z',
        fingerprint,
      },
    ],
  });

const metrics = createMetrics();
const serviceOf = (n: Notification) => n.groupLabels.service!;

describe('the alert inbox: a Redis stream between the webhook and the workers', () => {
  const connections: Redis[] = [];
  const drains: AlertDrain[] = [];
  let prefix: string;
  let inbox: AlertInbox;
  const connect = () => {
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    connections.push(redis);
    return redis;
  };
  const drain = async (
    consumer: string,
    run: DrainOptions['run'],
    options: Partial<DrainOptions> = {},
  ): Promise<AlertDrain> => {
    const started = await startAlertDrain({
      inbox,
      blocking: connect(),
      consumer,
      run,
      logger: createLogger('silent'),
      metrics,
      clock: systemClock,
      stallMs: 60_000,
      retryAfter: () => 100,
      ...options,
    });
    drains.push(started);
    return started;
  };

  /** Stores `n` as `sender` delivered it. */
  const put = (n: Notification, sender = 'peer-a') =>
    inbox.put(n, { group: groupIdOf(n.groupKey), digest: deliveryDigest(n), sender });

  beforeEach(() => {
    prefix = uniquePrefix();
    inbox = new AlertInbox(connect(), prefix, 3);
  });
  afterEach(async () => {
    await Promise.all(drains.splice(0).map((d) => d.close(1_000)));
    await dropPrefix(prefix);
  });
  afterAll(async () => {
    await Promise.all(connections.map((c) => (c.status === 'end' ? undefined : c.quit())));
  });

  it('stores a delivery once, and refuses more than its limit', async () => {
    expect(await put(notification('auth'))).toBe('stored');
    expect(await put(notification('auth'))).toBe('duplicate');
    expect(await put(notification('payment'))).toBe('stored');
    expect(await put(notification('education'))).toBe('stored');
    expect(await put(notification('api-gateway'))).toBe('full');
    expect(await inbox.size()).toBe(3);
    expect((await inbox.stats()).stored).toBe(3);
  });

  it('takes a group’s earlier text again from the sender that sent it, and drops another sender’s late copy', async () => {
    inbox = new AlertInbox(connect(), prefix, 1_000);
    const resolved = (n: Notification): Notification => ({
      ...n,
      status: 'resolved',
      alerts: n.alerts.map((a) => ({ ...a, status: 'resolved', endsAt: '2026-12-03T03:10:00Z' })),
    });
    const firing = notification('auth');
    // Both peers of an HA pair deliver the firing, then the first one the resolve.
    expect(await put(firing, 'peer-a')).toBe('stored');
    expect(await put(firing, 'peer-b')).toBe('duplicate');
    expect(await put(resolved(firing), 'peer-a')).toBe('stored');
    // A peer whose copy of the firing comes after the resolve is older news.
    expect(await put(firing, 'peer-c')).toBe('duplicate');
    expect(await put(resolved(firing), 'peer-b')).toBe('duplicate');
    // The same text again from a sender that sent it before is the group firing again.
    expect(await put(firing, 'peer-b')).toBe('stored');
    expect(await put(firing, 'peer-a')).toBe('duplicate');
    expect(await inbox.size()).toBe(3);
  });

  it('hands each notification to one worker, and leaves nothing behind', async () => {
    inbox = new AlertInbox(connect(), prefix, 1_000);
    const seen: string[] = [];
    await drain('one', async (n) => void seen.push(n.alerts[0]!.fingerprint));
    await drain('two', async (n) => void seen.push(n.alerts[0]!.fingerprint));
    for (let i = 0; i < 40; i++) await put(notification(`s${i % 4}`, `f${i}`));
    await waitFor(
      () => inbox.size(),
      (n) => n === 0,
      { what: 'the inbox to empty' },
    );
    expect(seen.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `f${i}`).sort());
    expect((await inbox.stats()).consumers).toBe(2);
  });

  it('handles a group’s notifications of one read in order, and different groups at once', async () => {
    inbox = new AlertInbox(connect(), prefix, 1_000);
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    for (let i = 0; i < 6; i++) await put(notification(`s${i % 2}`, `f${i}`));
    await drain('one', async (n) => {
      const fingerprint = n.alerts[0]!.fingerprint;
      events.push(`start ${fingerprint}`);
      // The first of each group waits until both groups have started: they run at once.
      if (fingerprint === 'f0' || fingerprint === 'f1') {
        if (events.filter((e) => e.startsWith('start')).length === 2) release();
        await gate;
      }
      events.push(`end ${fingerprint}`);
    });
    await waitFor(
      () => inbox.size(),
      (n) => n === 0,
      { what: 'the inbox to empty' },
    );
    const ended = events.filter((e) => e.startsWith('end')).map((e) => e.slice(4));
    expect(ended.filter((f) => ['f0', 'f2', 'f4'].includes(f))).toEqual(['f0', 'f2', 'f4']);
    expect(ended.filter((f) => ['f1', 'f3', 'f5'].includes(f))).toEqual(['f1', 'f3', 'f5']);
    expect(events.slice(0, 2).sort()).toEqual(['start f0', 'start f1']);
  });

  it('keeps a group from going back when another worker applies its later notification first', async () => {
    const store = new AlertStore(connect(), prefix);
    const policy = testPolicy();
    const resolved = (n: Notification): Notification => ({
      ...n,
      status: 'resolved',
      alerts: n.alerts.map((a) => ({ ...a, status: 'resolved', endsAt: '2026-12-03T03:10:00Z' })),
    });
    const apply: DrainOptions['run'] = (n, job) => store.apply(n, policy, Date.now(), job.id);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let taken!: () => void;
    const took = new Promise<void>((resolve) => (taken = resolve));
    // The first worker takes the firing notification and is slow with it…
    await drain('slow', async (n, job) => {
      taken();
      await held;
      await apply(n, job);
    });
    await put(notification('auth'));
    await took;
    // …while the second applies the resolve stored after it.
    const fast: string[] = [];
    await drain('fast', async (n, job) => {
      fast.push(n.status);
      await apply(n, job);
    });
    await put(resolved(notification('auth')));
    await waitFor(
      () => fast,
      (seen) => seen.length === 1,
      { what: 'the second worker to apply the resolve' },
    );
    release();
    await waitFor(
      () => inbox.size(),
      (n) => n === 0,
      { what: 'the inbox to empty' },
    );
    expect(fast).toEqual(['resolved']);
    const group = await store.get(groupIdOf(notification('auth').groupKey));
    expect(group).toMatchObject({ status: 'resolved', episode: 1 });
  });

  it('retries a failed notification after its backoff, then gives it up after the last attempt', async () => {
    const attempts: Record<string, JobInfo[]> = {};
    await drain(
      'one',
      async (n, job) => {
        (attempts[serviceOf(n)] ??= []).push(job);
        if (serviceOf(n) === 'broken') throw new Error('Slack is away');
        if (serviceOf(n) === 'flaky' && job.attemptsMade === 0) throw new Error('a hiccup');
      },
      { attempts: 3 },
    );
    await put(notification('broken'));
    await put(notification('flaky'));
    await waitFor(
      () => inbox.size(),
      (n) => n === 0,
      { what: 'the inbox to empty' },
    );
    expect(attempts.flaky!.map((j) => j.attemptsMade)).toEqual([0, 1]);
    expect(attempts.broken!.map((j) => j.attemptsMade)).toEqual([0, 1, 2]);
    expect(attempts.broken!.every((j) => j.attempts === 3)).toBe(true);
  });

  it('goes on with a group’s later notifications while a failed one waits for its retry', async () => {
    inbox = new AlertInbox(connect(), prefix, 1_000);
    const runs: string[] = [];
    // Both of one read: the first fails once, the second must not wait for its retry.
    for (const fingerprint of ['f0', 'f1']) await put(notification('auth', fingerprint));
    await drain(
      'one',
      async (n, job) => {
        const fingerprint = n.alerts[0]!.fingerprint;
        runs.push(`${fingerprint}#${job.attemptsMade}`);
        if (fingerprint === 'f0' && job.attemptsMade === 0) throw new Error('a hiccup');
      },
      { retryAfter: () => 300 },
    );
    await waitFor(
      () => inbox.size(),
      (n) => n === 0,
      { what: 'the inbox to empty' },
    );
    // f1 ran once, in the first read, and was not handed out again with f0's retry.
    expect(runs).toEqual(['f0#0', 'f1#0', 'f0#1']);
  });

  it('gives a dead worker’s notifications to another after the stall time', async () => {
    // A worker that read and died: its entries are pending in its name.
    const dead = connect();
    await inbox.ensureGroup();
    await put(notification('auth'));
    expect(await inbox.read(dead, 'dead', 10, 0)).toHaveLength(1);
    const handled: JobInfo[] = [];
    await drain('alive', async (_n, job) => void handled.push(job), { stallMs: 300 });
    await waitFor(
      () => inbox.size(),
      (n) => n === 0,
      { what: 'the dead worker’s entry to be handled' },
    );
    expect(handled).toHaveLength(1);
    expect(handled[0]!.attemptsMade).toBe(1);
  });

  it('finds a dead worker’s entry behind more entries than a page that live workers hold', async () => {
    inbox = new AlertInbox(connect(), prefix, 1_000);
    const redis = connect();
    const stream = `${prefix}:alert-inbox`;
    await inbox.ensureGroup();
    for (let i = 0; i < 150; i++) await put(notification(`busy-${i}`));
    await put(notification('orphan'));
    const held = await inbox.read(redis, 'busy', 150, 0);
    const [orphan] = await inbox.read(redis, 'dead', 1, 0);
    // Handed out half a second ago (a live worker on it), and two minutes ago (a dead one).
    await redis.xclaim(stream, 'workers', 'busy', 0, ...held.map((e) => e.id), 'IDLE', 500, 'JUSTID');
    await redis.xclaim(stream, 'workers', 'dead', 0, orphan!.id, 'IDLE', 120_000, 'JUSTID');
    const handled: JobInfo[] = [];
    await drain(
      'alive',
      async (n, job) => {
        if (serviceOf(n) === 'orphan') handled.push(job);
      },
      { stallMs: 60_000 },
    );
    await waitFor(
      () => handled.length,
      (n) => n === 1,
      {
        what: 'the dead worker’s entry to be taken over',
        timeoutMs: 5_000,
      },
    );
    expect(handled[0]!.attemptsMade).toBe(1);
  });

  it('gives up a dead worker’s entry handed out too often, however many entries the new worker holds', async () => {
    inbox = new AlertInbox(connect(), prefix, 1_000);
    const redis = connect();
    const stream = `${prefix}:alert-inbox`;
    await inbox.ensureGroup();
    await put(notification('first'));
    for (let i = 0; i < 250; i++) await put(notification(`held-${i}`));
    await put(notification('poison'));
    const [first] = await inbox.read(redis, 'dead', 1, 0);
    // Between the dead worker's two entries, 250 that the next worker already holds.
    const held = await inbox.read(redis, 'alive', 250, 0);
    const [poison] = await inbox.read(redis, 'dead', 1, 0);
    await redis.xclaim(stream, 'workers', 'dead', 0, first!.id, 'IDLE', 120_000, 'JUSTID');
    // Handed out five times already: every worker that took it died on it.
    await redis.xclaim(stream, 'workers', 'dead', 0, poison!.id, 'IDLE', 120_000, 'RETRYCOUNT', 5, 'JUSTID');
    expect(held).toHaveLength(250);
    const handled: string[] = [];
    await drain('alive', async (n) => void handled.push(serviceOf(n)), { stallMs: 60_000, attempts: 5 });
    await waitFor(
      () => inbox.size(),
      (n) => n === 0,
      { what: 'every entry done', timeoutMs: 10_000 },
    );
    expect(handled).toContain('first');
    expect(handled).not.toContain('poison');
    expect(handled.filter((s) => s.startsWith('held-'))).toHaveLength(250);
  });

  it('makes the inbox again when Redis lost it (a restart without persistence), and goes on', async () => {
    const handled: string[] = [];
    await drain('one', async (n) => void handled.push(serviceOf(n)));
    await put(notification('auth'));
    await waitFor(
      () => handled.length,
      (n) => n === 1,
      { what: 'the first notification' },
    );
    await connect().del(`${prefix}:alert-inbox`);
    await put(notification('payment'));
    await waitFor(
      () => handled.length,
      (n) => n === 2,
      { what: 'a notification after the loss' },
    );
    expect(handled).toEqual(['auth', 'payment']);
  });

  it('drops an entry that is not a notification instead of retrying it', async () => {
    const redis = connect();
    await inbox.ensureGroup();
    await redis.xadd(`${prefix}:alert-inbox`, '*', 'n', '{"version":"3"}');
    const ran = jest.fn(async () => undefined);
    await drain('one', ran);
    await waitFor(
      () => inbox.size(),
      (n) => n === 0,
      { what: 'the bad entry to go' },
    );
    expect(ran).not.toHaveBeenCalled();
  });

  it('stops at once when idle, and lets a notification under way finish within the deadline', async () => {
    const idle = await drain('idle', async () => undefined);
    expect(await idle.close(5_000)).toEqual({ drained: true });
    expect((await inbox.stats()).consumers).toBe(0);

    let running!: () => void;
    let release!: () => void;
    const underWay = new Promise<void>((resolve) => (running = resolve));
    const busy = await drain('busy', () => {
      running();
      return new Promise<void>((done) => (release = done));
    });
    await put(notification('auth'));
    await underWay;
    // Not finished within the deadline: left pending, in its name, for another worker.
    expect(await busy.close(100)).toEqual({ drained: false });
    expect(await inbox.size()).toBe(1);
    expect((await inbox.stats()).consumers).toBe(1);
    release();
  });
});
