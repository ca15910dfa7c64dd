import { actionId } from '../../src/kernel/slack/actions';
import type { Policy } from '../../src/config/policy';
import type { RecordedCall } from '../../sandbox/slack-api';
import { startAlertmanager, type TestAlertmanager } from '../kit/alertmanager';
import { startTestBot, type TestBot } from '../kit/bot';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import {
  finalProgressOf,
  firingNotification,
  postNotification,
  progressOf,
  requestIn,
  untilPendingApproval,
  untilSettled,
} from '../kit/flows';
import { freePort, TestRedisServer } from '../kit/redis-server';
import { sendButtonClick, sendSlashCommand } from '../kit/slack-requests';
import { waitFor } from '../kit/wait';
import { ALERTS, APPROVER, ENGINEER, INCIDENTS, OPS, PROD, STG, WEBHOOK_TOKEN } from '../kit/ids';

const withAlerts = (policy: Policy, alerts: Partial<Policy['alerts']>): Policy => ({
  ...policy,
  alerts: { ...policy.alerts, ...alerts },
});

/** Parent messages (not replies, not ephemeral) whose text contains `fragment`. */
const parentsWith = (t: TestBot, fragment: string) =>
  t.slack.messages.filter((m) => !m.threadTs && !m.visibleTo && m.text.includes(fragment));

describe('Redis restarted in the middle of an alert storm', () => {
  const GROUPS = 30;
  let redis: TestRedisServer;
  let am: TestAlertmanager;
  let t: TestBot;

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    const port = await freePort();
    am = await startAlertmanager({
      webhookUrl: `http://127.0.0.1:${port}/alertmanager`,
      webhookToken: WEBHOOK_TOKEN,
    });
    const cluster = await startTestCluster();
    await cluster.sim.stop();
    t = await startTestBot({
      policy: withAlerts(cluster.policy, { slackGap: 50 }),
      env: { PORT: String(port), REDIS_URL: redis.url, ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN },
    });
  });
  afterAll(async () => {
    await t?.stop();
    await am?.stop();
    await redis?.stop();
  });

  const group = (i: number) => {
    const service = `storm-${String(i).padStart(2, '0')}`;
    return {
      service,
      alert: {
        labels: { alertname: 'AzoraLowCacheHitRate', severity: 'warning', namespace: PROD, service },
        annotations: { summary: `cache hit rate below 80% on ${service}.` },
      },
    };
  };
  const digest = () => t.slack.messages.find((m) => m.text.startsWith(':rotating_light: *Alert storm*'));
  /** Where each group shows: its own thread, or its line in the storm digest. */
  const placesOf = (service: string) => ({
    threads: parentsWith(t, `on ${service}.`).filter((m) => !m.text.startsWith(':rotating_light:')).length,
    digestLines: (digest()?.text ?? '').split('\n').filter((l) => l.includes(`on ${service}.`)).length,
  });
  const shown = () =>
    Array.from({ length: GROUPS }, (_, i) => placesOf(group(i).service)).filter(
      (p) => p.threads + p.digestLines > 0,
    ).length;

  it('answers 503 while Redis is away, and every group reaches Slack exactly once after', async () => {
    const first = Array.from({ length: GROUPS / 2 }, (_, i) => group(i).alert);
    const second = Array.from({ length: GROUPS / 2 }, (_, i) => group(GROUPS / 2 + i).alert);
    await am.fire(first);
    await waitFor(shown, (n) => n >= 5, { what: 'the first groups in Slack', timeoutMs: 10_000 });

    await redis.down();
    await am.fire(second);
    // Alertmanager logs every delivery the webhook refused, with the status it got: each
    // group fired during the outage is refused at least once. The bot sees the outage too.
    await waitFor(
      () => am.logs().match(/unexpected status code 503/g)?.length ?? 0,
      (n) => n >= GROUPS / 2,
      { what: 'Alertmanager to be answered 503 for every new group', timeoutMs: 10_000 },
    );
    await waitFor(
      () => fetch(`${t.url}/readyz`).then((r) => r.status),
      (status) => status === 503,
      { what: 'the bot to report Redis down' },
    );
    await redis.up();

    await waitFor(shown, (n) => n === GROUPS, {
      what: `all ${GROUPS} groups in Slack`,
      timeoutMs: 25_000,
      intervalMs: 100,
    });
    // A duplicate on its way (a retried job, a re-sent delivery) would still be queued.
    await untilSettled(t.bot);
    for (let i = 0; i < GROUPS; i++) {
      const places = placesOf(group(i).service);
      expect({ service: group(i).service, total: places.threads + places.digestLines }).toEqual({
        service: group(i).service,
        total: 1,
      });
    }
    // Ten threads, then the storm digest for the rest: one message, kept current.
    expect(
      parentsWith(t, 'AzoraLowCacheHitRate').filter((m) => m.text.startsWith(':red_circle:')),
    ).toHaveLength(10);
    expect(t.slack.messages.filter((m) => m.text.startsWith(':rotating_light: *Alert storm*'))).toHaveLength(
      1,
    );
    expect(digest()!.text).toContain(`${GROUPS - 10} groups in this channel`);
  }, 50_000);
});

describe('Slack answering 429 and 500 to the outbox', () => {
  const RETRY_AFTER_S = 1;
  let t: TestBot;

  beforeAll(async () => {
    const cluster = await startTestCluster();
    await cluster.sim.stop();
    t = await startTestBot({
      policy: withAlerts(cluster.policy, { slackGap: 100 }),
      slack: { retryAfterSeconds: RETRY_AFTER_S },
      env: { ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('posts every alert thread once, and never calls a channel sooner than Retry-After after a 429', async () => {
    // Two 429s, then three 500s: more than the Web API client's own two retries, so the outbox retries too.
    t.slack.failNext('chat.postMessage', 429, 2);
    t.slack.failNext('chat.postMessage', 500, 3);
    const services = ['auth', 'payment', 'education', 'api-gateway'];
    const notifications = services.flatMap((service) => [
      firingNotification(
        'AzoraServiceDown',
        { severity: 'critical', namespace: PROD, service },
        `${service} down`,
      ),
      firingNotification(
        'AzoraHighCPU',
        { severity: 'warning', namespace: PROD, service },
        `CPU high on ${service}`,
      ),
    ]);
    const statuses = await Promise.all(notifications.map((n) => postNotification(t.url, WEBHOOK_TOKEN, n)));
    expect(statuses.every((s) => s === 202)).toBe(true);
    // While Slack refuses, the writes wait in the outbox, and the gauge says how many.
    const pending = async () =>
      Number(/^azora_slack_outbox_pending (\d+)$/m.exec(await (await fetch(`${t.url}/metrics`)).text())?.[1]);
    await waitFor(pending, (n) => n > 0, { what: 'writes waiting in the outbox' });

    const threads = () => [
      ...services.map((s) => parentsWith(t, `*AzoraServiceDown* — ${s} in production`)),
      ...services.map((s) => parentsWith(t, `*AzoraHighCPU* — ${s} in production`)),
    ];
    await waitFor(
      () => threads().map((m) => m.length),
      (counts) => counts.every((n) => n >= 1),
      { what: 'a thread for every group', timeoutMs: 20_000 },
    );
    await untilSettled(t.bot);
    expect(await pending()).toBe(0);
    expect(threads().map((m) => m.length)).toEqual(notifications.map(() => 1));
    expect(
      threads()
        .flat()
        .filter((m) => m.channel === INCIDENTS),
    ).toHaveLength(services.length);
    expect(
      threads()
        .flat()
        .filter((m) => m.channel === ALERTS),
    ).toHaveLength(services.length);

    const writes = t.slack.calls.filter((c) => c.method.startsWith('chat.'));
    const limited = writes.filter((c) => c.status === 429);
    expect(limited).toHaveLength(2);
    expect(writes.filter((c) => c.status === 500)).toHaveLength(3);
    for (const refused of limited) {
      const next = writes.find(
        (c: RecordedCall) => c.at > refused.at && c.args.channel === refused.args.channel && c !== refused,
      );
      expect(next).toBeDefined();
      expect(next!.at - refused.at).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000);
    }
  }, 30_000);
});

describe('the Kubernetes API failing during a staging scale', () => {
  let cluster: TestCluster;
  let t: TestBot;

  afterEach(async () => {
    await t?.stop();
    await cluster?.sim.stop();
  });

  const patchesOf = (deployment: string, ok: boolean) =>
    cluster.sim.requests.filter(
      (r) =>
        r.method === 'PATCH' &&
        r.url.endsWith(`/deployments/${deployment}/scale`) &&
        (ok ? r.status < 300 : r.status >= 500),
    );
  const replicas = (deployment: string) =>
    (cluster.sim.get('deployments', STG, deployment)!.spec as { replicas: number }).replicas;

  it('retries a 500 and a call hanging past the deadline, and succeeds with the change applied once', async () => {
    // Pods take a moment to become ready, so the job is still waiting for them when the API hangs.
    cluster = await startTestCluster({ readyDelayMs: 1_500 });
    t = await startTestBot({ cluster });
    cluster.sim.faults.failNext(1, { method: 'PATCH', path: /\/deployments\/azora-auth\/scale$/ });

    await sendSlashCommand(t.url, t.secret, { text: 'scale staging auth 4', user: ENGINEER, channel: OPS });
    const request = await requestIn(t.slack, 'scale staging auth 4');
    await waitFor(
      () => patchesOf('azora-auth', true).length,
      (n) => n === 1,
      { what: 'the scale to reach the cluster', timeoutMs: 10_000, intervalMs: 10 },
    );
    // The scale is through; the next read of the deployment hangs past the client's 10 s deadline.
    cluster.sim.faults.hangNext(1, 12_000, { method: 'GET', path: /\/deployments\/azora-auth$/ });

    expect(await finalProgressOf(t.slack, request.ts, 30_000)).toMatch(/^:large_green_circle: succeeded/);
    expect(progressOf(t.slack, request.ts)!.text).toContain('auth: azora-auth scaled 2 → 4');
    expect(replicas('azora-auth')).toBe(4);
    expect(patchesOf('azora-auth', false)).toHaveLength(1);
    expect(patchesOf('azora-auth', true)).toHaveLength(1);
    const events = (await t.bot.deps.audit.recent(50)).filter((e) => e.request === request.id);
    expect(events.filter((e) => ['succeeded', 'failed', 'refused', 'stale'].includes(e.type))).toEqual([
      expect.objectContaining({ type: 'succeeded' }),
    ]);
  }, 45_000);

  it('fails with a clear message, without hanging, when the API stays down', async () => {
    cluster = await startTestCluster();
    // Staging with an approver: the plan is made while the API is up, the change after it went down.
    const policy: Policy = {
      ...cluster.policy,
      environments: {
        ...cluster.policy.environments,
        staging: {
          ...cluster.policy.environments.staging!,
          approval: 'required',
          approvers: [APPROVER],
          // Still open to the workspace: approval alone would make staging's access strict.
          access: { view: 'everyone', request: 'everyone', respond: 'everyone', channels: 'any' },
        },
      },
    };
    t = await startTestBot({ cluster: { ...cluster, policy }, policy });
    await sendSlashCommand(t.url, t.secret, {
      text: 'scale staging payment 5',
      user: ENGINEER,
      channel: OPS,
    });
    const request = await requestIn(t.slack, 'scale staging payment 5');
    await untilPendingApproval(t.bot.deps.requests, request.id);

    await cluster.sim.faults.stopListening();
    await sendButtonClick(t.url, t.secret, {
      user: APPROVER,
      actionId: actionId('approve', request.id),
      value: request.id,
      channel: OPS,
      messageTs: request.ts,
      responseUrl: t.slack.responseUrl(OPS, APPROVER),
    });
    const final = await finalProgressOf(t.slack, request.ts, 30_000);
    expect(final).toMatch(/^:red_circle: failed/);
    expect(final).toMatch(/the Kubernetes API is unreachable \(ECONNREFUSED\)/);
    // The job's four attempts, each refused, then it gave up.
    const job = await waitFor(
      () => t.bot.queues.get('ops').getJob(`execute-${request.id}`),
      (j) => j?.finishedOn !== undefined,
      { what: 'the execute job to finish' },
    );
    expect(job!.attemptsStarted).toBe(4);
    expect((await t.bot.deps.requests.get(request.id))!.status).toBe('failed');
    await cluster.sim.faults.startListening();
    expect(replicas('azora-payment')).toBe(2);
    expect(patchesOf('azora-payment', true)).toHaveLength(0);
    expect(await t.bot.deps.locks.holder('staging', 'payment')).toBeNull();
  }, 45_000);
});

describe('one notification delivered to two web processes at once', () => {
  let worker: TestBot;
  let web: TestBot;

  beforeAll(async () => {
    const cluster = await startTestCluster();
    await cluster.sim.stop();
    const policy = withAlerts(cluster.policy, { slackGap: 50 });
    const env = { ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN };
    worker = await startTestBot({ role: 'all', policy, env });
    web = await startTestBot({ role: 'web', policy, env, prefix: worker.prefix });
  });
  afterAll(async () => {
    await web?.stop({ keepData: true });
    await worker?.stop();
  });

  it('opens exactly one thread', async () => {
    const groups = ['auth', 'payment', 'education'].map((service) =>
      firingNotification(
        'AzoraHighErrorRate',
        { severity: 'critical', namespace: PROD, service },
        `errors on ${service}`,
      ),
    );
    for (const notification of groups) {
      const statuses = await Promise.all(
        [worker, web, worker, web, worker, web].map((bot) =>
          postNotification(bot.url, WEBHOOK_TOKEN, notification),
        ),
      );
      expect(statuses).toEqual([202, 202, 202, 202, 202, 202]);
    }
    await waitFor(
      () => parentsWith(worker, '*AzoraHighErrorRate*').length,
      (n) => n >= groups.length,
      { what: 'the alert threads' },
    );
    await untilSettled(worker.bot);
    for (const service of ['auth', 'payment', 'education']) {
      expect(parentsWith(worker, `*AzoraHighErrorRate* — ${service} in production`)).toHaveLength(1);
    }
    expect(worker.slack.callsOf('chat.postMessage')).toHaveLength(groups.length);
    // The web-only process stored the notifications; it never writes to Slack itself.
    expect(web.slack.calls.filter((c) => c.method.startsWith('chat.'))).toHaveLength(0);
    expect((await worker.bot.deps.alertInbox.stats()).stored).toBe(groups.length);
  });
});
