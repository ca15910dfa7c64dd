import { PNG } from 'pngjs';
import { actionId } from '../../src/kernel/slack/actions';
import { startTestBot, type TestBot } from '../kit/bot';
import { firingNotification, postNotification } from '../kit/flows';
import { ENGINEER, INCIDENTS, PROD, WEBHOOK_TOKEN } from '../kit/ids';
import { startPrometheus, steppedSamples, type TestPrometheus } from '../kit/prometheus';
import { sendButtonClick } from '../kit/slack-requests';
import { waitFor } from '../kit/wait';

/**
 * The alert graph through the whole bot: an Alertmanager notification whose generatorURL
 * carries the rule's expression opens a thread, the worker asks Debian's real Prometheus
 * (filled by promtool), and the PNG lands in that thread through Slack's external upload;
 * the Graph button draws it again once, and a second press within the gap is told to wait.
 */
const MIN = 60_000;
const EVERY = 30_000;
const NOW = Math.floor((Date.now() - 2 * MIN) / EVERY) * EVERY;
const METRIC = 'azora_http_error_ratio';

describe('alert graphs, end to end', () => {
  let prometheus: TestPrometheus;
  let t: TestBot;

  beforeAll(async () => {
    prometheus = await startPrometheus([
      {
        name: METRIC,
        series: [
          {
            labels: { namespace: PROD, service: 'payment', pod: 'payment-green-1' },
            samples: steppedSamples(NOW - 60 * MIN, NOW, EVERY, NOW - 20 * MIN, 0.01, 0.12),
          },
        ],
      },
    ]);
    t = await startTestBot({
      env: { ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN, PROMETHEUS_URL: prometheus.url },
    });
  }, 90_000);
  afterAll(async () => {
    await t?.stop();
    await prometheus?.stop();
  });

  it('draws the rule’s graph into the alert’s thread, and again on Graph, at most once per gap', async () => {
    const alert = firingNotification(
      'AzoraHighErrorRate',
      { severity: 'critical', namespace: PROD, service: 'payment' },
      'payment answers 5xx',
      new Date(NOW - 18 * MIN).toISOString(),
    );
    const expr = `sum by (service) (${METRIC}{service="payment"}) > 0.05`;
    alert.alerts[0]!.generatorURL = `http://prometheus:9090/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=1`;
    expect(await postNotification(t.url, WEBHOOK_TOKEN, alert)).toBe(202);

    const parent = await waitFor(
      () => t.slack.messages.find((m) => !m.threadTs && m.text.includes('AzoraHighErrorRate')),
      (m) => m !== undefined,
      { what: 'the alert thread' },
    );
    expect(parent!.channel).toBe(INCIDENTS);
    expect(JSON.stringify(parent!.blocks)).toContain('"Graph"');
    const graphs = () => t.slack.files.filter((f) => f.threadTs === parent!.ts);
    await waitFor(graphs, (files) => files.length === 1, { what: 'the graph in the thread' });
    const png = PNG.sync.read(Buffer.from(graphs()[0]!.bytes!));
    expect([png.width, png.height]).toEqual([1600, 800]);

    // Graph draws it again; a second press right after is told when it may be pressed again.
    const press = () =>
      sendButtonClick(t.url, t.secret, {
        user: ENGINEER,
        actionId: actionId('graph', /azora:graph:([0-9a-f]+)/.exec(JSON.stringify(parent!.blocks))![1]!),
        value: 'graph',
        channel: parent!.channel,
        messageTs: parent!.ts,
        responseUrl: t.slack.responseUrl(parent!.channel, ENGINEER),
      });
    await press();
    await waitFor(graphs, (files) => files.length === 2, { what: 'the graph drawn again' });
    await press();
    const told = await waitFor(
      () => t.slack.messages.find((m) => m.visibleTo === ENGINEER && m.text.includes('press Graph again')),
      (m) => m !== undefined,
      { what: 'the presser told to wait' },
    );
    expect(told!.text).toMatch(/press Graph again in \d+ s/);
    expect(graphs()).toHaveLength(2);
  }, 60_000);
});
