import type { SimulatedPagerDuty } from '../../sandbox/pagerduty';
import type { Notification } from '../../src/alerts/domain/payload';
import { groupIdOf } from '../../src/alerts/domain/group';
import { startAlertmanagerPair, type TestAlertmanager } from '../kit/alertmanager';
import { startAlertingRig, type AlertingRig } from '../kit/alerting';
import type { TestBot } from '../kit/bot';
import { untilSettled } from '../kit/flows';
import { INCIDENTS, PROD } from '../kit/ids';
import { waitFor } from '../kit/wait';

/** How long the peer second in line waits for the first one's notification log. */
const PEER_TIMEOUT_MS = 2_000;

/**
 * Debian's prometheus-alertmanager as operators run it: an HA pair gossiping its
 * notification log, both peers pointed at the bot, every alert pushed to both.
 */
describe('an Alertmanager HA pair', () => {
  let rig: AlertingRig<TestAlertmanager & { peers: [TestAlertmanager, TestAlertmanager] }>;
  let pagerduty: SimulatedPagerDuty;
  let t: TestBot;
  /** Every notification the webhook took, as Alertmanager sent it. */
  const delivered: Notification[] = [];

  beforeAll(async () => {
    rig = await startAlertingRig((options) =>
      startAlertmanagerPair({ ...options, peerTimeout: `${PEER_TIMEOUT_MS / 1000}s` }),
    );
    ({ pagerduty, t } = rig);
    const inbox = t.bot.deps.alertInbox;
    const put = inbox.put.bind(inbox);
    inbox.put = (notification, delivery) => {
      delivered.push(notification);
      return put(notification, delivery);
    };
  });
  afterAll(() => rig.stop());

  const parents = (fragment: string) =>
    t.slack.messages.filter((m) => !m.threadTs && m.channel === INCIDENTS && m.text.includes(fragment));
  /**
   * Past the second peer's wait and the next group interval, whatever the pair would still
   * send has come. What is checked is that nothing more happens, so there is no event to
   * wait for: the window is the pair's own timing.
   */
  const untilThePairIsDone = async () => {
    await new Promise((resolve) => setTimeout(resolve, PEER_TIMEOUT_MS + 1_500));
    await untilSettled(t.bot);
  };

  it('opens one thread and one incident for a group both peers know, and resolves both once', async () => {
    const labels = { alertname: 'AzoraServiceDown', severity: 'critical', namespace: PROD, service: 'auth' };
    await rig.am.fire([{ labels, annotations: { summary: 'auth is down' } }]);
    await waitFor(
      () => parents('AzoraServiceDown'),
      (found) => found.length > 0,
      { what: 'the alert thread', timeoutMs: 15_000 },
    );
    await untilThePairIsDone();
    expect(parents('AzoraServiceDown')).toHaveLength(1);
    const groupKey = delivered.find((n) => n.commonLabels.alertname === 'AzoraServiceDown')!.groupKey;
    const dedupKey = (key: string) => key.startsWith(`azora-${groupIdOf(groupKey)}`);
    expect(pagerduty.events.filter((e) => dedupKey(e.dedupKey ?? '')).map((e) => e.action)).toEqual([
      'trigger',
    ]);

    await rig.am.resolve([labels]);
    await waitFor(
      () => parents('AzoraServiceDown')[0]!.text,
      (text) => text.startsWith(':large_green_circle:'),
      { what: 'the thread turned resolved', timeoutMs: 15_000 },
    );
    await untilThePairIsDone();
    // Neither peer's late word opened it again: one thread, resolved, one incident resolved.
    expect(parents('AzoraServiceDown')).toHaveLength(1);
    expect(parents('AzoraServiceDown')[0]!.text).toMatch(/^:large_green_circle:/);
    expect(pagerduty.events.filter((e) => dedupKey(e.dedupKey ?? '')).map((e) => e.action)).toEqual([
      'trigger',
      'resolve',
    ]);
    const group = await t.bot.deps.alerts.get(groupIdOf(groupKey));
    expect(group).toMatchObject({ status: 'resolved', episode: 1 });
  }, 60_000);
});
