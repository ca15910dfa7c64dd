import { actionId, type ActionKind } from '../../src/kernel/slack/actions';
import { groupIdOf } from '../../src/alerts/domain/group';
import { alertActionJob } from '../../src/alerts/contracts';
import type { Policy } from '../../src/config/policy';
import { startTestBot, type TestBot } from '../kit/bot';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import {
  finalProgressOf,
  firingNotification,
  postNotification,
  requestIn,
  untilPendingApproval,
} from '../kit/flows';
import {
  ALERTS,
  APPROVER,
  BYSTANDER,
  ENGINEER,
  ONCALL,
  OPS,
  PROD,
  SECOND_APPROVER,
  STG,
  WEBHOOK_TOKEN,
} from '../kit/ids';
import {
  buttonClickBody,
  postToSlackEndpoint,
  sendButtonClick,
  sendSlashCommand,
  signedHeaders,
  slashCommandBody,
} from '../kit/slack-requests';
import { waitFor } from '../kit/wait';
import { metricOf } from '../kit/metrics';

/**
 * Who may do what, where, how often and how many times: the access model of the policy,
 * rate limits, replays and the executor's second look, through signed Slack requests
 * against the real bot, the simulated cluster and a real Redis.
 */
describe('access, limits and replays', () => {
  let cluster: TestCluster;
  let t: TestBot;

  beforeAll(async () => {
    cluster = await startTestCluster();
  });
  afterAll(async () => {
    await cluster.sim.stop();
  });
  afterEach(async () => {
    await t?.stop();
  });

  const start = async (change: (policy: Policy) => Policy = (p) => p) => {
    const policy = change(structuredClone(cluster.policy));
    t = await startTestBot({
      cluster: { ...cluster, policy },
      policy,
      env: { ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN },
    });
  };

  const slash = async (user: string, text: string, channel = OPS) => {
    const res = await sendSlashCommand(t.url, t.secret, {
      text,
      user,
      channel,
      responseUrl: t.slack.responseUrl(channel, user),
    });
    expect(res.status).toBe(200);
    return res.text ? (res.json() as { text: string }).text : '';
  };

  /** A notification through the webhook; resolves to its stored group. */
  const deliver = async (notification: { groupKey: string } & Record<string, unknown>) => {
    expect(await postNotification(t.url, WEBHOOK_TOKEN, notification)).toBe(202);
    return (await waitFor(
      () => t.bot.deps.alerts.get(groupIdOf(notification.groupKey)),
      (g) => g !== undefined,
      { what: 'the alert group' },
    ))!;
  };
  /** A critical production alert of `service`, through the webhook; resolves to its stored group. */
  const fire = (alertname: string, service: string) =>
    deliver(
      firingNotification(
        alertname,
        { namespace: PROD, service, severity: 'critical' },
        `${alertname} on ${service}`,
      ),
    );
  /** `user` presses the `kind` button of an alert group, in its channel. */
  const press = (user: string, kind: ActionKind, group: { id: string; channel: string }) =>
    sendButtonClick(t.url, t.secret, {
      user,
      actionId: actionId(kind, group.id),
      channel: group.channel,
      responseUrl: t.slack.responseUrl(group.channel, user),
    });
  /** Alert actions queued, which a refused press leaves none of. */
  const alertActions = async () =>
    (await t.bot.queues.get('notify').getJobs(['wait', 'active', 'completed', 'delayed'])).filter(
      (j) => j.name === 'alert-action',
    );
  /** What the bot answered `user` alone, once it has. */
  const answerTo = async (user: string) =>
    (await waitFor(
      () => t.slack.messages.find((m) => m.visibleTo === user),
      (m) => m !== undefined,
      { what: `the answer to ${user}` },
    ))!.text;

  /** The approver presses Approve or Deny on a request. */
  const decide = (kind: 'approve' | 'deny', request: { id: string; ts: string }) =>
    sendButtonClick(t.url, t.secret, {
      user: APPROVER,
      actionId: actionId(kind, request.id),
      value: request.id,
      messageTs: request.ts,
      responseUrl: t.slack.responseUrl(OPS, APPROVER),
    });

  /** Windows people asked for, not the policy's recurring one. */
  const windows = async () =>
    (await t.bot.deps.maintenanceWindows.upcoming(Date.now())).filter((w) => !w.recurring);
  const audit = async (type: string) => (await t.bot.deps.audit.recent(50)).filter((e) => e.type === type);

  it('refuses a production change to someone the policy does not list, naming who can; nothing is planned', async () => {
    await start();
    const answer = await slash(BYSTANDER, 'scale production api-gateway 5');
    expect(answer).toContain('Not allowed: you may not request changes in production');
    expect(answer).toContain('<@U0APPROVER1>');
    expect(answer).toContain('Nothing was changed');
    expect(await t.bot.queues.get('ops').getJobCounts('wait', 'active', 'completed')).toEqual({
      wait: 0,
      active: 0,
      completed: 0,
    });
    const refused = await audit('access-refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.actor).toBe(BYSTANDER);
    // Staging is open to the workspace.
    expect(await slash(BYSTANDER, 'status staging')).toContain('Reading staging');
  });

  it('accepts production commands only in the policy channels, and logs only for viewers', async () => {
    await start();
    const answer = await slash(ENGINEER, 'logs production payment', ALERTS);
    expect(answer).toContain('Not here: production commands are not accepted in this channel');
    expect(answer).toContain('<#C0AZORAOPS>');
    expect(await slash(BYSTANDER, 'logs production payment')).toContain('you may not view production');
    expect(await t.bot.queues.get('logs').getJobCounts('wait', 'active', 'completed')).toEqual({
      wait: 0,
      active: 0,
      completed: 0,
    });
    expect(await slash(ENGINEER, 'logs production payment')).toContain('Fetching logs');
  });

  it('answers Silence and Acknowledge on a production alert only for responders', async () => {
    await start();
    const group = await fire('AzoraServiceDown', 'payment');
    await press(BYSTANDER, 'ack', group);
    expect(await answerTo(BYSTANDER)).toContain('you may not respond to alerts of production');
    expect((await t.bot.deps.alerts.get(group.id))!.acknowledgedBy).toBeUndefined();
    expect(await alertActions()).toEqual([]);
  });

  it('answers Silence on a group across both namespaces only for those who may respond in each', async () => {
    await start();
    // A route grouping by alertname alone: the labels all its alerts share name no
    // namespace, and Alertmanager happens to list the staging alert first.
    const alertIn = (namespace: string) =>
      firingNotification('AzoraPodCrashLooping', { namespace, service: 'payment' }, 'crash');
    const inStaging = alertIn(STG);
    const group = await deliver({
      ...inStaging,
      groupKey: '{}:{alertname="AzoraPodCrashLooping"}',
      groupLabels: { alertname: 'AzoraPodCrashLooping' },
      commonLabels: { alertname: 'AzoraPodCrashLooping', service: 'payment' },
      alerts: [inStaging.alerts[0]!, { ...alertIn(PROD).alerts[0]!, fingerprint: 'f0000000000000prod' }],
    });
    expect(group.environment).toBeUndefined();

    // Anyone may respond in staging; the silence would hold back the production alert too.
    await press(BYSTANDER, 'silence', group);
    expect(await answerTo(BYSTANDER)).toContain('you may not respond to alerts of production');
    expect(await alertActions()).toEqual([]);
    expect((await audit('access-refused')).map((e) => e.actor)).toContain(BYSTANDER);
  });

  it('asks again when a press’s job runs: a group that became production’s since is not silenced by a bystander', async () => {
    await start();
    const group = await deliver(
      firingNotification('AzoraPodCrashLooping', { namespace: STG, service: 'payment' }, 'crash'),
    );
    expect(group.environment).toBe('staging');
    // Anyone may respond in staging: the press is taken. Before its job runs, the group
    // turns out to be production's (as a production alert joining it would make it).
    await t.bot.deps.alerts.update(group.id, (g) => ({ ...g, environment: 'production' }));
    await t.bot.queues.enqueue(alertActionJob, { kind: 'silence', groupId: group.id, user: BYSTANDER });
    const done = await waitFor(
      async () =>
        (await t.bot.queues.get('notify').getJobs(['completed'])).find((j) => j.name === 'alert-action'),
      (j) => j !== undefined,
      { what: 'the silence job done' },
    );
    expect(done!.returnvalue).toEqual({ skipped: 'refused' });
    expect((await t.bot.deps.alerts.get(group.id))!.silence).toBeUndefined();
    expect((await audit('access-refused')).map((e) => e.actor)).toContain(BYSTANDER);
  });

  it('keeps runbook changes out of a channel that does not take the environment’s commands', async () => {
    await start();
    // A warning goes to the alerts channel, where production commands are not accepted.
    const group = await deliver(
      firingNotification(
        'AzoraHighLatencyP95',
        { namespace: PROD, service: 'education', severity: 'warning' },
        'p95 above 200 ms on education',
      ),
    );
    expect(group.channel).toBe(ALERTS);
    const parent = await waitFor(
      () => t.slack.messages.find((m) => !m.threadTs && m.text.includes('AzoraHighLatencyP95')),
      (m) => m !== undefined,
      { what: 'the alert thread' },
    );
    expect(JSON.stringify(parent!.blocks)).not.toContain('azora:runbook-');

    // A press sent anyway (an older message, a forged payload) is refused as typing it there would be.
    await press(APPROVER, 'runbook-scale-up', group);
    expect(await answerTo(APPROVER)).toContain('production commands are not accepted in this channel');
    const plans = await t.bot.queues.get('ops').getJobs(['wait', 'active', 'completed', 'delayed']);
    expect(plans.filter((j) => j.name === 'plan-request')).toEqual([]);
  });

  it('says a responder’s Acknowledge once in the thread, even when its job is retried', async () => {
    await start();
    const group = await fire('AzoraServiceDown', 'auth');
    // The press's last step (the incident timeline) fails once: the job is tried again.
    const incidents = t.bot.deps.incidents;
    const open = incidents.open.bind(incidents);
    let failed = false;
    incidents.open = async () => {
      if (!failed) {
        failed = true;
        throw new Error('Connection is closed.');
      }
      return open();
    };
    try {
      await sendButtonClick(t.url, t.secret, {
        user: ONCALL,
        actionId: actionId('ack', group.id),
        channel: group.channel,
        responseUrl: t.slack.responseUrl(group.channel, ONCALL),
      });
      const jobs = () => t.bot.queues.get('notify').getJobs(['completed'], 0, 100);
      await waitFor(
        async () => (await jobs()).find((j) => j.name === 'alert-action'),
        (job) => job !== undefined,
        { what: 'the acknowledgement done', timeoutMs: 15_000 },
      );
      expect(failed).toBe(true);
      await waitFor(
        () => t.bot.deps.outbox.pending(),
        (n) => n === 0,
        { what: 'every Slack write made' },
      );
      const said = t.slack.messages.filter((m) => m.text.includes('acknowledged this in PagerDuty'));
      expect(said).toHaveLength(1);
    } finally {
      incidents.open = open;
    }
  });

  it('refuses a second runbook change for one alert episode while the first waits, naming it', async () => {
    await start();
    const group = await fire('AzoraHighErrorRate', 'education');
    const press = (kind: 'runbook-switch-back' | 'runbook-rollback') =>
      sendButtonClick(t.url, t.secret, {
        user: ONCALL,
        actionId: actionId(kind, group.id),
        channel: group.channel,
        responseUrl: t.slack.responseUrl(group.channel, ONCALL),
      });
    await press('runbook-switch-back');
    const first = await requestIn(t.slack, 'rollback production education');
    await untilPendingApproval(t.bot.deps.requests, first.id);
    await press('runbook-rollback');
    const refused = await waitFor(
      () => t.slack.messages.find((m) => m.visibleTo === ONCALL && m.text.includes('refused')),
      (m) => m !== undefined,
      { what: 'the second runbook change refused' },
    );
    expect(refused!.text).toContain(
      `a runbook change for this alert is already waiting for approval: request \`${first.id}\``,
    );
    const requests = await t.bot.deps.requests.recent('production');
    expect(requests.map((r) => r.id)).toEqual([first.id]);
  });

  it('slows a user down past the commands per minute, saying when to try again', async () => {
    await start((p) => ({ ...p, limits: { ...p.limits, commandsPerMinute: 3 } }));
    for (let i = 0; i < 3; i++) expect(await slash(BYSTANDER, 'help')).toContain('Azora chat-ops');
    const slowed = await slash(BYSTANDER, 'help');
    expect(slowed).toMatch(
      /Slow down: you reached your limit of commands \(policy: limits\)\. Try again in (\d+[ms])+\./,
    );
    // Another user is not held back by the first.
    expect(await slash(ENGINEER, 'help')).toContain('Azora chat-ops');
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^azora_rate_limited_total\{limit="commands"\} 1$/m);
  });

  it('changes nothing when the same signed command is delivered again', async () => {
    await start();
    const body = slashCommandBody({
      text: 'scale staging api-gateway 3',
      user: ENGINEER,
      responseUrl: t.slack.responseUrl(OPS, ENGINEER),
    });
    const first = await postToSlackEndpoint(t.url, body, signedHeaders(body, t.secret));
    expect(first.status).toBe(200);
    const again = await postToSlackEndpoint(t.url, body, signedHeaders(body, t.secret));
    expect(again.status).toBe(200);
    expect(again.text).toBe('');
    const plans = await t.bot.queues.get('ops').getJobs(['wait', 'active', 'completed', 'delayed']);
    expect(plans.filter((j) => j.name === 'plan-request')).toHaveLength(1);
  });

  it('decides once on a Deny delivered twice at once: the second delivery is a replay and answers nothing', async () => {
    await start();
    await slash(ENGINEER, 'scale production auth 4');
    const request = await requestIn(t.slack, 'scale production auth 4');
    await untilPendingApproval(t.bot.deps.requests, request.id);
    const body = buttonClickBody({
      user: APPROVER,
      actionId: actionId('deny', request.id),
      value: request.id,
      messageTs: request.ts,
      responseUrl: t.slack.responseUrl(OPS, APPROVER),
    });
    const headers = signedHeaders(body, t.secret);

    const answers = await Promise.all([
      postToSlackEndpoint(t.url, body, headers),
      postToSlackEndpoint(t.url, body, headers),
    ]);

    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    await waitFor(
      () => t.slack.messages.find((m) => m.threadTs === request.ts && m.text.startsWith(':no_entry: denied')),
      (m) => m !== undefined,
      { what: 'the progress reply to say denied' },
    );
    // The second delivery was turned away as a replay: had it been decided, it would have
    // been refused ("already denied"), audited and told to the presser.
    await waitFor(
      () => metricOf(t.url, 'azora_slack_replays_total{kind="click"}'),
      (n) => n === 1,
      { what: 'the second delivery to count as a replay' },
    );
    expect(await audit('denied')).toHaveLength(1);
    expect(await audit('deny-refused')).toHaveLength(0);
    expect(t.slack.messages.filter((m) => m.visibleTo === APPROVER)).toEqual([]);
  });

  it('sends production maintenance on less than the notice through an approver; with it, schedules at once', async () => {
    await start();
    const soon = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 16);
    expect(await slash(ENGINEER, `maintenance schedule ${soon}Z 2h Database failover drill`)).toContain(
      'Maintenance on less than 7d notice in production needs an approver',
    );
    const request = await requestIn(t.slack, 'maintenance schedule production');
    expect(await windows()).toEqual([]);
    await untilPendingApproval(t.bot.deps.requests, request.id);
    await decide('approve', request);
    expect(await finalProgressOf(t.slack, request.ts)).toContain('succeeded');
    const [window] = await windows();
    expect(window).toMatchObject({ environment: 'production', reason: 'Database failover drill' });

    const later = new Date(Date.now() + 9 * 86_400_000).toISOString().slice(0, 16);
    expect(await slash(ENGINEER, `maintenance schedule ${later}Z 2h Planned upgrade`)).toContain(
      'Scheduling',
    );
    await waitFor(windows, (found) => found.length === 2, { what: 'the window scheduled with notice' });

    // Cancelling a production window is a change like any other: it waits for an approver.
    await slash(ENGINEER, `maintenance cancel ${window!.id}`);
    await requestIn(t.slack, `maintenance cancel production ${window!.id}`);
    expect((await t.bot.deps.maintenanceWindows.get(window!.id))!.status).toBe('scheduled');
  });

  it('answers an allowed Close window press right after a refused one', async () => {
    await start();
    const at = `${new Date(Date.now() + 9 * 86_400_000).toISOString().slice(0, 16)}Z`;
    expect(await slash(ENGINEER, `maintenance schedule ${at} 2h Planned upgrade`)).toContain('Scheduling');
    const [window] = await waitFor(windows, (found) => found.length === 1, { what: 'the window' });
    const closeIt = { id: window!.id, channel: OPS };
    await press(BYSTANDER, 'close-window', closeIt);
    expect(await answerTo(BYSTANDER)).toContain('you may not request changes in production');
    // Within the double-click window of the refused press: still a press of its own.
    await press(ENGINEER, 'close-window', closeIt);
    await requestIn(t.slack, `maintenance cancel production ${window!.id}`);
    expect((await t.bot.deps.maintenanceWindows.get(window!.id))!.status).toBe('scheduled');
  });

  it('counts a Close window press against the changes per minute, as a typed cancel is', async () => {
    await start((p) => ({ ...p, limits: { ...p.limits, changesPerMinute: 1 } }));
    const at = `${new Date(Date.now() + 9 * 86_400_000).toISOString().slice(0, 16)}Z`;
    expect(await slash(APPROVER, `maintenance schedule ${at} 2h Planned upgrade`)).toContain('Scheduling');
    const [window] = await waitFor(windows, (found) => found.length === 1, { what: 'the window' });
    const closeIt = { id: window!.id, channel: OPS };
    await press(ENGINEER, 'close-window', closeIt);
    await requestIn(t.slack, `maintenance cancel production ${window!.id}`);
    await press(ENGINEER, 'close-window', closeIt);
    await waitFor(
      () => t.slack.messages.find((m) => m.visibleTo === ENGINEER && m.text.includes('Slow down')),
      (m) => m !== undefined,
      { what: 'the second press slowed down' },
    );
  });

  it('moves a production window only once an approver other than the one who asked approves', async () => {
    await start();
    const at = (days: number) => `${new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 16)}Z`;
    expect(await slash(ENGINEER, `maintenance schedule ${at(9)} 2h Planned upgrade`)).toContain('Scheduling');
    const [window] = await waitFor(windows, (found) => found.length === 1, { what: 'the window' });
    const scheduled = window!.start;

    // An approver asks for the move: a request like any other, the window untouched meanwhile.
    await slash(APPROVER, `maintenance move ${window!.id} ${at(12)} 3h`);
    const request = await requestIn(t.slack, `maintenance move production ${window!.id}`);
    await untilPendingApproval(t.bot.deps.requests, request.id);
    expect((await t.bot.deps.maintenanceWindows.get(window!.id))!.start).toBe(scheduled);

    // Their own approval does not count.
    await decide('approve', request);
    const own = await waitFor(
      () =>
        t.slack.messages.find(
          (m) => m.visibleTo === APPROVER && m.text.includes('someone else must approve'),
        ),
      (m) => m !== undefined,
      { what: 'the self-approval refused' },
    );
    expect(own!.text).toContain('you asked for this change');
    expect((await t.bot.deps.requests.get(request.id))!.status).toBe('pending-approval');
    expect((await t.bot.deps.maintenanceWindows.get(window!.id))!.start).toBe(scheduled);

    await sendButtonClick(t.url, t.secret, {
      user: SECOND_APPROVER,
      actionId: actionId('approve', request.id),
      value: request.id,
      messageTs: request.ts,
      responseUrl: t.slack.responseUrl(OPS, SECOND_APPROVER),
    });
    expect(await finalProgressOf(t.slack, request.ts)).toContain('succeeded');
    const moved = (await t.bot.deps.maintenanceWindows.get(window!.id))!;
    expect(moved.start).toBeGreaterThan(scheduled + 2 * 86_400_000);
    expect(moved.end - moved.start).toBe(3 * 3_600_000);
    expect((await windows()).map((w) => w.id)).toEqual([window!.id]);
  });

  it('re-checks an approved plan against the policy as it is now, and ends it refused with the reason', async () => {
    await start();
    expect(await slash(ENGINEER, 'scale production api-gateway 5')).toContain('Planning');
    const request = await requestIn(t.slack, 'scale production api-gateway 5');
    await untilPendingApproval(t.bot.deps.requests, request.id);
    // The policy tightens while the request waits.
    t.policy.services['api-gateway']!.replicas.max = 4;
    await decide('approve', request);
    const final = await finalProgressOf(t.slack, request.ts);
    expect(final).toContain('refused');
    expect(final).toContain('the policy no longer allows it');
    const scaled = await cluster.kube.serviceState('production', {
      kind: 'blue-green',
      namespace: PROD,
      service: 'api-gateway',
      app: 'azora-api-gateway',
      serviceName: 'azora-api-gateway',
      deployments: { blue: 'azora-api-gateway-blue', green: 'azora-api-gateway-green' },
    });
    expect(scaled.workloads.every((w) => w.desired !== 5)).toBe(true);
    expect((await audit('refused')).length).toBeGreaterThanOrEqual(1);
  });

  it('says denied, and by whom, in the progress reply of a denied request', async () => {
    await start();
    await slash(ENGINEER, 'scale production auth 4');
    const request = await requestIn(t.slack, 'scale production auth 4');
    await untilPendingApproval(t.bot.deps.requests, request.id);
    await decide('deny', request);
    const progress = await waitFor(
      () => t.slack.messages.find((m) => m.threadTs === request.ts && m.text.startsWith(':no_entry: denied')),
      (m) => m !== undefined,
      { what: 'the progress reply to say denied' },
    );
    expect(progress!.text).toContain(':no_entry: denied by <@U0APPROVER1>');
  });

  it('takes the buttons off a request message denied while its post was still being answered', async () => {
    await start();
    // Slack shows the request at once but answers the post 1.5 s later: the approver can
    // deny before the bot knows the message's ts.
    t.slack.delayAnswer('chat.postMessage', 1_500);
    await slash(ENGINEER, 'scale production auth 4');
    const request = await requestIn(t.slack, 'scale production auth 4');
    await untilPendingApproval(t.bot.deps.requests, request.id);
    await decide('deny', request);
    expect((await t.bot.deps.requests.get(request.id))!.messageTs).toBeUndefined();
    await waitFor(
      () => JSON.stringify(t.slack.messages.find((m) => m.ts === request.ts)!.blocks ?? []),
      (blocks) => !blocks.includes(actionId('deny', request.id)),
      { what: 'the request message without its buttons' },
    );
    expect(t.slack.messages.find((m) => m.ts === request.ts)!.text).toContain('denied');
  });

  it('says denied in a progress reply that was still on its way to Slack when the request was denied', async () => {
    await start();
    // Every post takes 1.5 s: the denial lands while the progress reply is being posted.
    t.slack.delay('chat.postMessage', 1_500, 2);
    await slash(ENGINEER, 'scale production auth 4');
    const request = await requestIn(t.slack, 'scale production auth 4');
    await untilPendingApproval(t.bot.deps.requests, request.id);
    await decide('deny', request);
    expect((await t.bot.deps.requests.get(request.id))!.progressTs).toBeUndefined();
    const progress = await waitFor(
      () => t.slack.messages.find((m) => m.threadTs === request.ts && m.text.startsWith(':no_entry: denied')),
      (m) => m !== undefined,
      { what: 'the progress reply to say denied' },
    );
    expect(progress!.text).toContain(':no_entry: denied by <@U0APPROVER1>');
  });
});
