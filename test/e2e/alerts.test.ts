import { AlertmanagerClient } from '../../src/kernel/alertmanager';
import { actionId } from '../../src/kernel/slack/actions';
import { createLogger } from '../../src/kernel/log';
import { SimulatedPagerDuty } from '../../sandbox/pagerduty';
import { startAlertmanager, type TestAlertmanager } from '../kit/alertmanager';
import { startTestBot, type TestBot } from '../kit/bot';
import { startAlertingRig, type AlertingRig } from '../kit/alerting';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import { freePort, TestRedisServer } from '../kit/redis-server';
import { sendButtonClick, sendSlashCommand } from '../kit/slack-requests';
import { waitFor } from '../kit/wait';
import { metricOf } from '../kit/metrics';
import { INCIDENTS, PROD, STG, WEBHOOK_TOKEN } from '../kit/ids';
import { firingNotification, untilSettled } from '../kit/flows';
import { legacyAlertNotificationJob } from '../../src/alerts/contracts';
import { notificationSchema } from '../../src/alerts/domain/payload';
import { groupIdOf, MAX_ALERTS_PER_GROUP } from '../../src/alerts/domain/group';
import { WEBHOOK_BODY_LIMIT } from '../../handlers/alertmanager';

const errorRate = (service: string, pod: string) => ({
  labels: { alertname: 'AzoraHighErrorRate', severity: 'critical', namespace: PROD, service, pod },
  annotations: {
    summary: `Error rate above 5% on ${service}`,
    runbook_url: 'https://runbooks.azora.world/high-error-rate',
  },
});

describe('Alertmanager alerts as Slack threads', () => {
  let redis: TestRedisServer;
  let rig: AlertingRig<TestAlertmanager>;
  let cluster: TestCluster;
  let pagerduty: SimulatedPagerDuty;
  let am: TestAlertmanager;
  let t: TestBot;

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    rig = await startAlertingRig(startAlertmanager, { REDIS_URL: redis.url });
    ({ cluster, pagerduty, am, t } = rig);
  });
  afterAll(async () => {
    await rig.stop();
    await redis.stop();
  });

  /** Until no job of this name waits or runs: what a double click queued has all run. */
  const untilDone = (queue: 'ops' | 'notify', name: string) =>
    waitFor(
      async () =>
        (await t.bot.queues.get(queue).getJobs(['wait', 'active', 'delayed'])).filter((j) => j.name === name)
          .length,
      (n) => n === 0,
      { what: `every ${name} job done` },
    );

  const parentOf = (fragment: string) =>
    waitFor(
      () => t.slack.messages.find((m) => !m.threadTs && m.text.includes(fragment)),
      (m) => m !== undefined,
      { what: `an alert thread for ${fragment}`, timeoutMs: 15_000 },
    ).then((m) => m!);
  const metric = (series: string) => metricOf(t.url, series);
  /** Fires one alert and waits for its thread: the parent, and the group id its buttons carry. */
  const firedGroup = async (labels: Record<string, string> & { alertname: string }) => {
    await am.fire([{ labels }]);
    const parent = await parentOf(labels.alertname);
    const groupId = /azora:silence:([0-9a-f]{16})/.exec(JSON.stringify(parent.blocks))![1]!;
    return { parent, groupId };
  };
  const repliesTo = (ts: string) => t.slack.messages.filter((m) => m.threadTs === ts).map((m) => m.text);
  const current = (ts: string) => t.slack.messages.find((m) => m.ts === ts)!;
  const post = (body: unknown, token = WEBHOOK_TOKEN) =>
    fetch(`${t.url}/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  /** Makes the outbox's first put of `key` fail, as when Redis goes away for a moment; `puts` counts them. */
  const failFirstPutOf = (key: string) => {
    const outbox = t.bot.deps.outbox;
    const put = outbox.put.bind(outbox);
    const puts: string[] = [];
    outbox.put = async (channel, putKey, ...rest) => {
      if (putKey === key) {
        puts.push(putKey);
        if (puts.length === 1) throw new Error('Connection is closed.');
      }
      return put(channel, putKey, ...rest);
    };
    return { puts, restore: () => void (outbox.put = put) };
  };
  /** The same notification with every alert resolved now. */
  const resolvedOf = (notification: ReturnType<typeof firingNotification>) => {
    const endsAt = new Date().toISOString();
    return {
      ...notification,
      status: 'resolved',
      alerts: notification.alerts.map((a) => ({ ...a, status: 'resolved', endsAt })),
    };
  };

  it('opens one thread per group, edits it as alerts come and go, and turns it resolved', async () => {
    await am.fire([errorRate('payment', 'payment-1')]);
    const parent = await parentOf('AzoraHighErrorRate');
    expect(parent.channel).toBe(INCIDENTS);
    expect(parent.text).toContain(':red_circle: FIRING:1 *AzoraHighErrorRate* — payment in production');
    const blocks = JSON.stringify(parent.blocks);
    const groupId = /azora:ack:([0-9a-f]{16})/.exec(blocks)![1]!;
    for (const kind of ['ack', 'silence', 'runbook-switch-back', 'runbook-logs'] as const) {
      expect(blocks).toContain(actionId(kind, groupId));
    }
    expect(blocks).not.toContain(actionId('runbook-rollback', groupId)); // blue/green: switch back instead
    expect(blocks).toContain('https://runbooks.azora.world/high-error-rate');

    await am.fire([errorRate('payment', 'payment-1'), errorRate('payment', 'payment-2')]);
    await waitFor(
      () => current(parent.ts).text,
      (text) => text.includes('FIRING:2'),
      { what: 'the parent to count 2' },
    );
    await waitFor(
      () => repliesTo(parent.ts),
      (r) => r.some((x) => x === ':red_circle: 1 more firing: payment-2'),
    );

    await am.resolve([errorRate('payment', 'payment-1').labels, errorRate('payment', 'payment-2').labels]);
    await waitFor(
      () => current(parent.ts).text,
      (text) => text.includes(':large_green_circle: RESOLVED'),
      {
        what: 'the parent to turn resolved',
        timeoutMs: 15_000,
      },
    );
    await waitFor(
      () => repliesTo(parent.ts),
      (r) => r.includes(':large_green_circle: All alerts of this group resolved.'),
    );
    expect(t.slack.messages.filter((m) => !m.threadTs && m.text.includes('AzoraHighErrorRate'))).toHaveLength(
      1,
    );

    // Critical: exactly one PagerDuty trigger and one resolve for the episode.
    const events = await waitFor(
      () => pagerduty.events.filter((e) => e.dedupKey?.startsWith(`azora-${groupId}`)),
      (e) => e.some((x) => x.action === 'resolve'),
      { what: 'the PagerDuty resolve' },
    );
    expect(events.map((e) => e.action)).toEqual(['trigger', 'resolve']);
  });

  it('opens the thread again when its alert fires again with the start it had, once resolved', async () => {
    // Prometheus keeps an alert's start across a gap in its sends (a restart, a partition):
    // Alertmanager resolves it once its endsAt has passed, then takes it again as it was,
    // and its notification is the first one's to the letter.
    const labels = { alertname: 'AzoraPodRestarting', severity: 'warning', namespace: STG, service: 'auth' };
    const alert = { labels, startsAt: new Date(Date.now() - 60_000).toISOString() };
    await am.fire([alert]);
    const parent = await parentOf('AzoraPodRestarting');
    await am.resolve([labels]);
    await waitFor(
      () => current(parent.ts).text,
      (text) => text.includes(':large_green_circle: RESOLVED'),
      { what: 'the parent to turn resolved', timeoutMs: 15_000 },
    );

    await am.fire([alert]);
    await waitFor(
      () => repliesTo(parent.ts),
      (r) => r.includes(':red_circle: Firing again (episode 2) after being resolved.'),
      { what: 'the thread to say it fires again', timeoutMs: 15_000 },
    );
    expect(current(parent.ts).text).toContain(':red_circle: FIRING:1');

    // A third time, the same again: its reply is its own, not the second one's.
    await am.resolve([labels]);
    await waitFor(
      () => current(parent.ts).text,
      (text) => text.includes(':large_green_circle: RESOLVED'),
      { what: 'the parent to turn resolved again', timeoutMs: 15_000 },
    );
    await am.fire([alert]);
    await waitFor(
      () => repliesTo(parent.ts),
      (r) => r.includes(':red_circle: Firing again (episode 3) after being resolved.'),
      { what: 'the thread to say it fires a third time', timeoutMs: 15_000 },
    );
  });

  it('pages on the retry when the attempt that opened a group failed after storing it', async () => {
    const notification = firingNotification(
      'AzoraHighErrorRate',
      { severity: 'critical', namespace: PROD, service: 'auth' },
      'Error rate above 5% on auth',
    );
    const groupId = groupIdOf(notification.groupKey);
    // Redis goes away for a moment just after the group is stored: its thread's parent
    // cannot be queued, the attempt fails, and its retry finds the group already open.
    const { puts, restore } = failFirstPutOf(`alert-${groupId}`);
    try {
      expect((await post(notification)).status).toBe(202);
      const events = await waitFor(
        () => pagerduty.events.filter((e) => e.dedupKey?.startsWith(`azora-${groupId}`)),
        (e) => e.length > 0,
        { what: 'the page' },
      );
      await untilSettled(t.bot);
      // The first attempt failed at the parent; the retry put it, and paged once.
      expect(puts).toHaveLength(2);
      expect(events.map((e) => e.action)).toEqual(['trigger']);
      expect(await parentOf('Error rate above 5% on auth')).toBeDefined();
    } finally {
      restore();
    }
  });

  it('pages once a critical alert joins a warning’s group, and says so in its thread', async () => {
    const warning = firingNotification(
      'AzoraPodRestarts',
      { severity: 'warning', namespace: PROD, service: 'payment' },
      'Pods restarting on payment',
    );
    const groupId = groupIdOf(warning.groupKey);
    expect((await post(warning)).status).toBe(202);
    const parent = await parentOf('AzoraPodRestarts');
    await untilSettled(t.bot);
    expect(pagerduty.events.filter((e) => e.dedupKey?.startsWith(`azora-${groupId}`))).toEqual([]);

    // The route does not group by severity: the next notification mixes both.
    const first = warning.alerts[0]!;
    const critical = {
      ...first,
      labels: { ...first.labels, severity: 'critical', pod: 'azora-payment-blue-x' },
      fingerprint: `${first.fingerprint.slice(0, 15)}c`,
    };
    const common: Record<string, string> = { ...warning.commonLabels };
    delete common.severity;
    expect((await post({ ...warning, commonLabels: common, alerts: [first, critical] })).status).toBe(202);

    const events = await waitFor(
      () => pagerduty.events.filter((e) => e.dedupKey === `azora-${groupId}-1` && e.status === 202),
      (found) => found.length > 0,
      { what: 'the page for the critical alert' },
    );
    expect(events.map((e) => e.action)).toEqual(['trigger']);
    await waitFor(
      () => repliesTo(parent.ts),
      (replies) => replies.some((r) => r.includes(':arrow_up: Now *critical* (was warning)')),
      { what: 'the thread told of the escalation' },
    );
    expect(current(parent.ts).text).toContain('AzoraPodRestarts');
  });

  it('turns the thread resolved on the retry when the attempt that resolved its group failed after storing it', async () => {
    const notification = firingNotification(
      'AzoraQueueBacklog',
      { severity: 'warning', namespace: PROD, service: 'api-gateway' },
      'Queue backlog above 1000 on api-gateway',
    );
    const groupId = groupIdOf(notification.groupKey);
    expect((await post(notification)).status).toBe(202);
    const parent = await parentOf('AzoraQueueBacklog');
    await untilSettled(t.bot);
    // Redis goes away for a moment just after the resolve is stored: the parent's new
    // state cannot be queued, and the retry finds the group resolved already.
    const { puts, restore } = failFirstPutOf(`alert-${groupId}`);
    try {
      expect((await post(resolvedOf(notification))).status).toBe(202);
      await waitFor(
        () => current(parent.ts).text,
        (text) => text.startsWith(':large_green_circle:'),
        { what: 'the parent turned resolved', timeoutMs: 15_000 },
      );
      expect(puts.length).toBeGreaterThanOrEqual(2);
    } finally {
      restore();
    }
  });

  it('drops a page still waiting out a PagerDuty error once its alert has resolved', async () => {
    const notification = firingNotification(
      'AzoraPaymentsFailing',
      { severity: 'critical', namespace: PROD, service: 'api-gateway' },
      'Payments failing through api-gateway',
    );
    const dedupKey = `azora-${groupIdOf(notification.groupKey)}-1`;
    const eventOf = (action: string, status: number) =>
      pagerduty.waitForEvent((e) => e.dedupKey === dedupKey && e.action === action && e.status === status);
    // PagerDuty answers the page 500: its job waits 2 s before trying again.
    pagerduty.failNext('/v2/enqueue', 500);
    expect((await post(notification)).status).toBe(202);
    await eventOf('trigger', 500);
    expect((await post(resolvedOf(notification))).status).toBe(202);
    await eventOf('resolve', 202);

    const triggerJob = `pd-trigger-${dedupKey}`;
    const state = await waitFor(
      async () => (await t.bot.queues.get('notify').getJob(triggerJob))?.getState(),
      (s) => s === 'completed' || s === 'failed',
      { what: 'the page retried', timeoutMs: 10_000 },
    );
    expect(state).toBe('completed');
    expect((await t.bot.queues.get('notify').getJob(triggerJob))!.returnvalue).toEqual({
      skipped: 'the alert resolved',
    });
    expect(
      pagerduty.events.filter((e) => e.dedupKey === dedupKey && e.status === 202).map((e) => e.action),
    ).toEqual(['resolve']);
  });

  it('changes nothing on a duplicate delivery', async () => {
    const notification = {
      version: '4',
      groupKey: '{}:{alertname="AzoraHighCPU"}',
      status: 'firing',
      receiver: 'webhook',
      groupLabels: { alertname: 'AzoraHighCPU' },
      commonLabels: {
        alertname: 'AzoraHighCPU',
        severity: 'warning',
        namespace: 'azora-staging',
        service: 'auth',
      },
      commonAnnotations: { summary: 'CPU above 70% on auth' },
      externalURL: am.url,
      alerts: [
        {
          status: 'firing',
          labels: {
            alertname: 'AzoraHighCPU',
            severity: 'warning',
            namespace: 'azora-staging',
            service: 'auth',
          },
          annotations: { summary: 'CPU above 70% on auth' },
          startsAt: new Date().toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: '',
          fingerprint: 'f00dfeed',
        },
      ],
      futureField: 'Alertmanager may add fields',
    };
    expect((await post(notification)).status).toBe(202);
    const parent = await parentOf('AzoraHighCPU');
    expect(parent.channel).toBe('C0ALERTS');
    await untilSettled(t.bot);
    const calls = t.slack.calls.length;
    const stored = await metric('azora_alertmanager_alerts_total{status="firing"}');
    expect((await post(notification)).status).toBe(202);
    expect((await post(notification)).status).toBe(202);
    await untilSettled(t.bot);
    expect(t.slack.calls.length).toBe(calls);
    // Duplicates are not stored, nor counted as stored; nothing waits, and the notification ran.
    expect(await metric('azora_alertmanager_alerts_total{status="firing"}')).toBe(stored);
    expect(await metric('azora_alert_inbox_waiting')).toBe(0);
    expect(
      await metric('azora_jobs_total{queue="alerts",name="alert-notification",outcome="succeeded"}'),
    ).toBeGreaterThan(0);
    // Its group remembers the inbox entry it came in, which keeps an older one from undoing it.
    const group = await t.bot.deps.alerts.get(groupIdOf(notification.groupKey));
    expect(group?.lastEntry).toMatch(/^\d+-\d+$/);
  });

  it('still handles a notification that an earlier version queued as a BullMQ job', async () => {
    // A rolling upgrade: a web process of the version before the alert inbox adds a job.
    const notification = firingNotification(
      'AzoraHighLatency',
      { severity: 'warning', namespace: 'azora-staging', service: 'education' },
      'p99 above 500 ms',
    );
    await t.bot.queues.enqueue(legacyAlertNotificationJob, notificationSchema.parse(notification));
    const parent = await parentOf('AzoraHighLatency');
    expect(parent.text).toContain('education');
    await untilSettled(t.bot);
    // A job has no place in the inbox to order it by.
    expect((await t.bot.deps.alerts.get(groupIdOf(notification.groupKey)))?.lastEntry).toBeUndefined();
    // The same delivery through today's webhook is a duplicate of it: nothing more is posted.
    const calls = t.slack.calls.length;
    expect((await post(notification)).status).toBe(202);
    await untilSettled(t.bot);
    expect(t.slack.calls.length).toBe(calls);
  });

  it('refuses a wrong token, malformed payloads and oversized bodies, storing nothing', async () => {
    const before = await t.bot.deps.alertInbox.stats();
    const wrong = await post({ version: '4' }, 'not-the-token');
    expect(wrong.status).toBe(401);
    const notJson = await post('{"version": 4,');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toMatch(/^the body is not JSON/);
    const wrongVersion = await post({
      version: '3',
      groupKey: 'g',
      status: 'firing',
      receiver: 'r',
      alerts: [],
    });
    expect(((await wrongVersion.json()) as { error: string }).error).toBe(
      "not an Alertmanager v4 notification: version: expected version '4'",
    );
    const noAlerts = await post({ version: '4', groupKey: 'g', status: 'firing', receiver: 'r', alerts: [] });
    expect(noAlerts.status).toBe(400);
    const huge = await post({ version: '4', padding: 'x'.repeat(WEBHOOK_BODY_LIMIT) });
    expect(huge.status).toBe(413);
    expect((await t.bot.deps.alertInbox.stats()).stored).toBe(before.stored);
  });

  it('takes a group of 1,200 alerts that Alertmanager sends as megabytes, keeping 500 and counting the rest', async () => {
    // An annotation the size real rules carry (a description with a query and a table)
    // makes the notification about 2.5 MB: over the limit the webhook used to have.
    const description = `p99 latency above 2s on this pod. ${'query and context '.repeat(80)}`;
    const alerts = Array.from({ length: 1_200 }, (_, i) => ({
      labels: {
        alertname: 'AzoraPodSlow',
        severity: 'warning',
        namespace: STG,
        service: 'education',
        pod: `education-${i}`,
      },
      annotations: { summary: 'education pods are slow', description },
    }));
    const sent: number[] = [];
    const inbox = t.bot.deps.alertInbox;
    const put = inbox.put.bind(inbox);
    inbox.put = (notification, delivery) => {
      sent.push(JSON.stringify(notification).length);
      return put(notification, delivery);
    };
    try {
      await am.fire(alerts);
      const parent = await parentOf('AzoraPodSlow');
      const groupId = /azora:silence:([0-9a-f]{16})/.exec(JSON.stringify(parent.blocks))![1]!;
      await waitFor(
        () => JSON.stringify(current(parent.ts).blocks),
        (blocks) => blocks.includes('700 more left out of the notification'),
        { what: 'the parent to count what was left out' },
      );
      const group = (await t.bot.deps.alerts.get(groupId))!;
      expect(Object.keys(group.alerts)).toHaveLength(MAX_ALERTS_PER_GROUP);
      expect(group.truncated).toBe(700);
      // What the inbox holds is what the group keeps, not the whole body.
      expect(Math.max(...sent)).toBeLessThan(WEBHOOK_BODY_LIMIT / 8);
      expect(Math.max(...sent)).toBeGreaterThan(500 * description.length);
    } finally {
      inbox.put = put;
    }
  });

  it('takes the bearer scheme in any case, as Alertmanager’s `authorization: {type: bearer}` sends it', async () => {
    const notification = firingNotification(
      'AzoraPodNotReady',
      { namespace: PROD, service: 'auth', severity: 'warning' },
      'a pod is not ready',
    );
    for (const scheme of ['bearer', 'BEARER']) {
      const res = await fetch(`${t.url}/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `${scheme} ${WEBHOOK_TOKEN}` },
        body: JSON.stringify(notification),
      });
      expect(res.status).toBe(202);
    }
    const wrong = await fetch(`${t.url}/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${WEBHOOK_TOKEN}` },
      body: JSON.stringify(notification),
    });
    expect(wrong.status).toBe(401);
    await parentOf('AzoraPodNotReady');
  });

  it('silences a group in Alertmanager from the thread, and expires it', async () => {
    const { parent, groupId } = await firedGroup({
      alertname: 'AzoraDiskUsageHigh',
      severity: 'critical',
      namespace: PROD,
      service: 'postgres-replica',
    });
    // A double click, and a second person pressing at the same moment: one silence.
    await Promise.all(
      ['U0ONCALL', 'U0ONCALL', 'U0ENGINEER'].map((user) =>
        sendButtonClick(t.url, t.secret, {
          user,
          actionId: actionId('silence', groupId),
          channel: INCIDENTS,
        }),
      ),
    );
    const client = new AlertmanagerClient(am.url, createLogger('silent'));
    const silence = await waitFor(
      async () => (await client.listSilences()).find((s) => s.createdBy === 'slack:U0ONCALL'),
      (s) => s?.status.state === 'active',
      { what: 'the silence in Alertmanager' },
    );
    expect(silence!.matchers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'alertname', value: 'AzoraDiskUsageHigh', isEqual: true }),
      ]),
    );
    await waitFor(
      () => repliesTo(parent.ts),
      (r) => r.some((x) => x.includes('<@U0ONCALL> silenced this group')),
    );
    await untilDone('notify', 'alert-action');
    const silences = (await client.listSilences()).filter((s) => s.createdBy.startsWith('slack:'));
    expect(silences.filter((s) => s.status.state === 'active')).toHaveLength(1);
    expect(repliesTo(parent.ts).filter((r) => r.includes('silenced this group'))).toHaveLength(1);
    /** Presses `kind` again until the thread says `fragment`: a press inside the double-click window adds nothing. */
    const pressUntilSaid = (kind: 'silence' | 'unsilence', fragment: string, what: string) =>
      waitFor(
        async () => {
          await sendButtonClick(t.url, t.secret, {
            user: 'U0ENGINEER',
            actionId: actionId(kind, groupId),
            channel: INCIDENTS,
          });
          return repliesTo(parent.ts);
        },
        (r) => r.some((x) => x.includes(fragment)),
        { what, intervalMs: 500 },
      );
    // Pressed again once the double-click window is over: it says so, and makes no second silence.
    await pressUntilSaid(
      'silence',
      'already silenced by <@U0ONCALL> until',
      'a later press to say the group is silenced',
    );
    expect(
      (await client.listSilences()).filter(
        (s) => s.createdBy.startsWith('slack:') && s.status.state === 'active',
      ),
    ).toHaveLength(1);
    await sendButtonClick(t.url, t.secret, {
      user: 'U0ONCALL',
      actionId: actionId('unsilence', groupId),
      channel: INCIDENTS,
    });
    await waitFor(
      async () => (await client.listSilences()).find((s) => s.id === silence!.id)?.status.state,
      (state) => state === 'expired',
      { what: 'the silence to expire' },
    );
    await untilDone('notify', 'alert-action');
    // Expire again, once the double-click window is over: nothing recorded, and it says so.
    await pressUntilSaid(
      'unsilence',
      'No silence of this group is recorded; nothing was expired.',
      'a second Expire to say there is nothing to expire',
    );
    expect(repliesTo(parent.ts).filter((r) => r.includes('expired the silence'))).toHaveLength(1);
  });

  it('tells who is on call, from PagerDuty', async () => {
    await sendSlashCommand(t.url, t.secret, {
      text: 'oncall',
      user: 'U0ENGINEER',
      responseUrl: t.slack.responseUrl(INCIDENTS, 'U0ENGINEER'),
    });
    const answer = await waitFor(
      () => t.slack.messages.find((m) => m.visibleTo === 'U0ENGINEER' && m.text.startsWith('On call:')),
      (m) => m !== undefined,
      { what: 'the on-call answer' },
    );
    expect(answer!.text).toBe('On call: Amara Okafor (level 1), Jonas Weber (level 2)');
  });

  it('runs a production runbook button through approval, and the job changes the cluster', async () => {
    await am.fire([errorRate('education', 'education-1')]);
    const parent = await parentOf('— education in production');
    const groupId = /azora:ack:([0-9a-f]{16})/.exec(JSON.stringify(parent.blocks))![1]!;
    const press = () =>
      sendButtonClick(t.url, t.secret, {
        user: 'U0ONCALL',
        actionId: actionId('runbook-switch-back', groupId),
        channel: INCIDENTS,
        responseUrl: t.slack.responseUrl(INCIDENTS, 'U0ONCALL'),
      });
    // A double click makes one request.
    await Promise.all([press(), press()]);
    const request = await waitFor(
      () =>
        t.slack.messages.find(
          (m) => m.threadTs === parent.ts && m.text.includes('asked to `rollback production education`'),
        ),
      (m) => m !== undefined,
      { what: 'the request in the alert thread' },
    );
    const requestId = /Request `(r[0-9a-f]{8})`/.exec(JSON.stringify(request!.blocks))![1]!;
    await untilDone('ops', 'plan-request');
    expect(
      t.slack.messages.filter((m) => m.text.includes('asked to `rollback production education`')),
    ).toHaveLength(1);
    expect(
      (cluster.sim.get('services', PROD, 'azora-education')!.spec as { selector: { version: string } })
        .selector.version,
    ).toBe('blue');
    await sendButtonClick(t.url, t.secret, {
      user: 'U0APPROVER1',
      actionId: actionId('approve', requestId),
      channel: INCIDENTS,
      responseUrl: t.slack.responseUrl(INCIDENTS, 'U0APPROVER1'),
    });
    await waitFor(
      () =>
        (cluster.sim.get('services', PROD, 'azora-education')!.spec as { selector: { version: string } })
          .selector.version,
      (v) => v === 'green',
      { what: 'the switch back to reach the cluster' },
    );
  });
  it('makes one silence when a press is retried after Alertmanager took its silence', async () => {
    const { parent, groupId } = await firedGroup({
      alertname: 'AzoraCertificateExpiring',
      severity: 'warning',
      namespace: PROD,
      service: 'gateway',
    });
    // Recording the silence on the group fails once, as when Redis goes away for a moment:
    // the job fails after Alertmanager made the silence, and BullMQ runs it again.
    const alerts = t.bot.deps.alerts;
    const update = alerts.update.bind(alerts);
    let refused = 0;
    alerts.update = (id, change) =>
      update(id, (group) => {
        const next = change(group);
        if (id === groupId && next?.silence && !group.silence && refused === 0) {
          refused += 1;
          throw new Error('Connection is closed.');
        }
        return next;
      });
    try {
      await sendButtonClick(t.url, t.secret, {
        user: 'U0ONCALL',
        actionId: actionId('silence', groupId),
        channel: INCIDENTS,
      });
      const recorded = await waitFor(
        async () => (await alerts.get(groupId))?.silence,
        (s) => s !== undefined,
        { what: 'the silence recorded on the group, by the retry', timeoutMs: 20_000 },
      );
      expect(refused).toBe(1);
      const client = new AlertmanagerClient(am.url, createLogger('silent'));
      const made = (await client.listSilences()).filter(
        (s) => s.status.state !== 'expired' && s.comment.includes('AzoraCertificateExpiring'),
      );
      expect(made.map((s) => s.id)).toEqual([recorded!.id]);
      await waitFor(
        () => repliesTo(parent.ts).filter((r) => r.includes('silenced this group')),
        (r) => r.length === 1,
        { what: 'the silence said once in the thread' },
      );
    } finally {
      alerts.update = update;
    }
  });

  // Last in this block: it stops Alertmanager.
  it('says in the thread when Alertmanager cannot take a silence', async () => {
    const { parent, groupId } = await firedGroup({
      alertname: 'AzoraPodCrashLooping',
      severity: 'critical',
      namespace: PROD,
      service: 'auth',
    });
    await am.stop();
    await sendButtonClick(t.url, t.secret, {
      user: 'U0ONCALL',
      actionId: actionId('silence', groupId),
      channel: INCIDENTS,
    });
    const said = await waitFor(
      () => repliesTo(parent.ts).find((r) => r.includes('could not silence this group')),
      (r) => r !== undefined,
      { what: 'the failure in the thread, after the retries', timeoutMs: 20_000 },
    );
    expect(said).toMatch(/Alertmanager at .* is unreachable/);
    expect((await t.bot.deps.alerts.get(groupId))?.silence).toBeUndefined();
  });
});

describe('the webhook while Redis is away', () => {
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
    t = await startTestBot({
      env: { PORT: String(port), REDIS_URL: redis.url, ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN },
    });
  });
  afterAll(async () => {
    await t.stop();
    await am.stop();
    await redis.stop();
  });

  it('answers 503 while Redis is down, and Alertmanager’s retry is posted once Redis is back', async () => {
    await redis.down();
    await am.fire([
      { labels: { alertname: 'AzoraServiceDown', severity: 'critical', namespace: PROD, service: 'auth' } },
    ]);
    const refused = await fetch(`${t.url}/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}` },
      body: JSON.stringify({
        version: '4',
        groupKey: 'probe',
        status: 'firing',
        receiver: 'r',
        alerts: [{ status: 'firing', labels: { alertname: 'Probe' }, startsAt: 'now', fingerprint: 'p' }],
      }),
    });
    expect(refused.status).toBe(503);
    // Alertmanager's own delivery was refused too before Redis comes back.
    await waitFor(() => /unexpected status code 503/.test(am.logs()), Boolean, {
      what: 'Alertmanager to be answered 503',
      timeoutMs: 10_000,
    });
    await redis.up();
    const parent = await waitFor(
      () => t.slack.messages.find((m) => !m.threadTs && m.text.includes('AzoraServiceDown')),
      (m) => m !== undefined,
      { what: 'the retried alert in Slack', timeoutMs: 20_000 },
    );
    expect(parent!.text).toContain('— auth in production');
    expect(parent!.channel).toBe(INCIDENTS);
  });
});

describe('an alert storm in one channel', () => {
  const GAP_MS = 250;
  /**
   * What this Slack takes: a fifth under the bot's pacing, as the default policy's 1.1 s
   * stays under Slack's one a second, since a call paced at its turn may leave a little
   * later than the one before it on a loaded machine.
   */
  const SLACK_GAP_MS = 200;
  let am: TestAlertmanager;
  let t: TestBot;

  beforeAll(async () => {
    const port = await freePort();
    am = await startAlertmanager({
      webhookUrl: `http://127.0.0.1:${port}/alertmanager`,
      webhookToken: WEBHOOK_TOKEN,
    });
    const cluster = await startTestCluster();
    await cluster.sim.stop();
    const policy = {
      ...cluster.policy,
      alerts: { ...cluster.policy.alerts, slackGap: GAP_MS, stormGroupsPerMinute: 10 },
    };
    // This Slack answers 429 to any call into a channel sooner than SLACK_GAP_MS after the last.
    t = await startTestBot({
      policy,
      slack: { minChannelGapMs: SLACK_GAP_MS, retryAfterSeconds: 1 },
      env: { PORT: String(port), ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN },
    });
  });
  afterAll(async () => {
    await t.stop();
    await am.stop();
  });

  it('posts a digest instead of 200 threads, never faster than the pacing, losing no group', async () => {
    const alerts = Array.from({ length: 200 }, (_, i) => ({
      labels: { alertname: 'AzoraHighLatencyP95', severity: 'warning', namespace: PROD, service: `svc-${i}` },
      annotations: { summary: `p95 above 200 ms on svc-${i}` },
    }));
    await am.fire(alerts);
    const parents = () =>
      t.slack.messages.filter((m) => m.text.startsWith(':red_circle: FIRING:1 *AzoraHighLatencyP95*'));
    const digestCount = (text: string) => Number(/(\d+) groups in this channel/.exec(text)?.[1] ?? 0);
    const digest = await waitFor(
      () => t.slack.messages.find((m) => m.text.startsWith(':rotating_light: *Alert storm*')),
      (m) => m !== undefined && digestCount(m.text) + parents().length === 200,
      { what: 'the threads and the digest to account for every group', timeoutMs: 20_000 },
    );
    expect(digest!.channel).toBe('C0ALERTS');
    expect(parents()).toHaveLength(10);
    expect(digestCount(digest!.text)).toBe(190);

    const writes = t.slack.calls.filter((c) => c.method.startsWith('chat.') && c.args.channel === 'C0ALERTS');
    expect(writes.filter((c) => c.status === 429)).toHaveLength(0);
    const gaps = writes.slice(1).map((c, i) => c.at - writes[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(SLACK_GAP_MS);
    // 10 parents and a handful of coalesced digest edits, not 200 messages.
    expect(writes.length).toBeLessThan(40);
  });
});
