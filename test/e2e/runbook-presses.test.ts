import { actionId, type ActionKind } from '../../src/kernel/slack/actions';
import { groupIdOf } from '../../src/alerts/domain/group';
import { startTestBot, type TestBot } from '../kit/bot';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import {
  finalProgressOf,
  firingNotification,
  postNotification,
  requestIn,
  untilPendingApproval,
} from '../kit/flows';
import { APPROVER, ENGINEER, ONCALL, PROD, WEBHOOK_TOKEN } from '../kit/ids';
import { sendButtonClick } from '../kit/slack-requests';
import { waitFor } from '../kit/wait';

/**
 * Runbook buttons pressed by several people at once on one alert episode, through signed
 * clicks against the real bot, its plan jobs running side by side on the ops queue, the
 * simulated cluster and a real Redis: one change, the other presses refused naming it.
 */
describe('runbook presses on one alert episode', () => {
  let cluster: TestCluster;
  let t: TestBot;

  beforeAll(async () => {
    cluster = await startTestCluster();
    t = await startTestBot({ cluster, env: { ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN } });
  });
  afterAll(async () => {
    await t.stop();
    await cluster.sim.stop();
  });

  const selector = () =>
    (cluster.sim.get('services', PROD, 'azora-education')!.spec as { selector: { version: string } }).selector
      .version;
  const refusalTo = (user: string) =>
    waitFor(
      () => t.slack.messages.find((m) => m.visibleTo === user && m.text.includes('refused')),
      (m) => m !== undefined,
      { what: `the refusal to ${user}` },
    ).then((m) => m!.text);

  it('makes one request of two presses at once, refuses the other and a press in the bake window, naming the first', async () => {
    // Its runbook offers a scale-up and, on a blue/green service, a switch back (a rollback).
    const notification = firingNotification(
      'AzoraHighLatencyP95',
      { namespace: PROD, service: 'education', severity: 'critical' },
      'p95 above 200 ms on education',
    );
    expect(await postNotification(t.url, WEBHOOK_TOKEN, notification)).toBe(202);
    const group = (await waitFor(
      () => t.bot.deps.alerts.get(groupIdOf(notification.groupKey)),
      (g) => g !== undefined,
      { what: 'the alert group' },
    ))!;
    const press = (user: string, kind: Extract<ActionKind, `runbook-${string}`>) =>
      sendButtonClick(t.url, t.secret, {
        user,
        actionId: actionId(kind, group.id),
        channel: group.channel,
        responseUrl: t.slack.responseUrl(group.channel, user),
      });

    // Two people, two buttons, one moment: both plan jobs run at once on the ops queue.
    const presses = await Promise.all([
      press(ONCALL, 'runbook-switch-back'),
      press(ENGINEER, 'runbook-rollback'),
    ]);
    expect(presses.map((p) => p.status)).toEqual([200, 200]);
    const first = await requestIn(t.slack, 'rollback production education');
    await waitFor(
      async () =>
        (await t.bot.queues.get('ops').getJobs(['completed'])).filter((j) => j.name === 'plan-request')
          .length,
      (done) => done === 2,
      { what: 'both plan jobs done' },
    );
    const stored = await t.bot.deps.requests.recent('production');
    expect(stored.map((r) => r.id)).toEqual([first.id]);
    const firstBy = stored[0]!.requester;
    const other = firstBy === ONCALL ? ENGINEER : ONCALL;
    const refused = await refusalTo(other);
    // Refused while the first was planned or already waiting, whichever it found: naming it either way.
    expect(refused).toMatch(
      /a runbook change for this alert is already (being planned|waiting for approval)/,
    );
    expect(refused).toContain(`request \`${first.id}\` of <@${firstBy}>`);
    expect(
      t.slack.messages.filter((m) => m.text.includes('asked to `rollback production education`')),
    ).toHaveLength(1);

    await untilPendingApproval(t.bot.deps.requests, first.id);
    const approval = await sendButtonClick(t.url, t.secret, {
      user: APPROVER,
      actionId: actionId('approve', first.id),
      value: first.id,
      channel: group.channel,
      messageTs: first.ts,
      responseUrl: t.slack.responseUrl(group.channel, APPROVER),
    });
    expect(approval.status).toBe(200);
    // Where it stopped, should it: the request's own status says more than an empty thread.
    await waitFor(
      async () => (await t.bot.deps.requests.get(first.id))?.status,
      (status) => status !== 'pending-approval',
      { what: 'the approval taken', timeoutMs: 30_000 },
    );
    // The suite shares the cores with this bot: a loaded machine takes longer to switch.
    expect(await finalProgressOf(t.slack, first.ts, 30_000)).toContain('succeeded');
    expect(selector()).toBe('green');

    // The switch is baking: another runbook change for the episode is refused, and changes nothing.
    const before = t.slack.messages.filter((m) => m.visibleTo === other).length;
    await press(other, 'runbook-scale-up');
    const baking = await waitFor(
      () => t.slack.messages.filter((m) => m.visibleTo === other).slice(before),
      (found) => found.some((m) => m.text.includes('refused')),
      { what: 'the press in the bake window refused' },
    );
    expect(baking.find((m) => m.text.includes('refused'))!.text).toContain(
      `a runbook change for this alert is already inside its bake window: request \`${first.id}\` of <@${firstBy}>`,
    );
    expect((await t.bot.deps.requests.recent('production')).map((r) => r.id)).toEqual([first.id]);
    expect(selector()).toBe('green');
  }, 90_000);
});
