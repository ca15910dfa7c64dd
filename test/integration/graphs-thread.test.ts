import { WebClient } from '@slack/web-api';
import { alertGraphProcessor } from '../../jobs/alert-graph';
import { Redis } from 'ioredis';
import { PNG } from 'pngjs';
import { parentKey, type AlertGroup } from '../../src/alerts/domain/group';
import type { Notification } from '../../src/alerts/domain/payload';
import { AlertStore } from '../../src/alerts/store';
import { defaultPolicyPath, GRAPH_DEFAULTS, loadPolicy } from '../../src/config/policy';
import type { JobContext } from '../../src/deps';
import {
  createGraphDeps,
  drawAlertGraph,
  ThreadNotYet,
  type DrawDeps,
  type GraphDeps,
} from '../../src/graphs';
import { AuditLog } from '../../src/kernel/audit';
import { createLogger } from '../../src/kernel/log';
import { createMetrics } from '../../src/kernel/metrics';
import type { JobInfo } from '../../src/kernel/queue/define';
import { note } from '../../src/kernel/slack/blocks';
import { slackLogger } from '../../src/kernel/slack/logger';
import { SlackOutbox } from '../../src/kernel/slack/outbox';
import type { PlanStep } from '../../src/requests/domain/types';
import { SIMULATED_BOT_USER, SimulatedSlack } from '../../sandbox/slack-api';
import { ENGINEER } from '../kit/ids';
import { startPrometheus, steppedSamples, type TestPrometheus } from '../kit/prometheus';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';
import { waitFor } from '../kit/wait';

/**
 * An alert group's graph drawn into its thread: the group in real Redis, the expression
 * asked of Debian's real Prometheus (filled by promtool), the bot's own deploy read from the
 * audit stream, the PNG uploaded through Slack's external upload into the simulated Slack's
 * thread, and every failure as one line in that thread.
 */

const MIN = 60_000;
const EVERY = 30_000;
const END = Math.floor((Date.now() - 10 * MIN) / EVERY) * EVERY;
const START = END - 60 * MIN;
const STEP_AT = END - 30 * MIN;
const NAME = 'azora_http_error_ratio';
const policy = loadPolicy(defaultPolicyPath());
// Every group here opens at the same instant: no storm digest, however many there are.
const noStorm = { ...policy, alerts: { ...policy.alerts, stormGroupsPerMinute: 1_000 } };
const logger = createLogger('silent');

const link = (expr: string) => `http://prometheus:9090/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=1`;
const job = (id: string, attemptsMade = 0): JobInfo => ({
  id,
  attemptsMade,
  attemptsStarted: attemptsMade + 1,
  attempts: 6,
});

const deployPlan: PlanStep[] = [
  {
    kind: 'deploy',
    service: 'payment',
    deployment: 'payment-green',
    fromImage: 'registry.azora.world/payment:v1.5.0',
    toImage: 'registry.azora.world/payment:v1.6.0',
  },
];

describe('an alert group’s graph in its thread', () => {
  let redis: Redis;
  let prefix: string;
  let prometheus: TestPrometheus;
  let slack: SimulatedSlack;
  let outbox: SlackOutbox;
  let alerts: AlertStore;
  let graphs: GraphDeps;
  let deps: DrawDeps;
  let groups = 0;

  beforeAll(async () => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    prefix = uniquePrefix();
    prometheus = await startPrometheus([
      {
        name: NAME,
        series: [
          {
            labels: { namespace: 'azora-production', service: 'payment', pod: 'payment-green-1' },
            samples: steppedSamples(START, END, EVERY, STEP_AT, 0.01, 0.12),
          },
          {
            labels: { namespace: 'azora-production', service: 'search', pod: 'search-blue-1' },
            samples: steppedSamples(START, END, EVERY, STEP_AT, 0.02, 0.02),
          },
        ],
      },
    ]);
    slack = await new SimulatedSlack({
      channels: [{ id: policy.channels.alerts, name: 'alerts', members: [SIMULATED_BOT_USER, ENGINEER] }],
    }).start();
    const client = new WebClient(slack.botToken, {
      slackApiUrl: slack.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      logger: slackLogger(logger),
    });
    outbox = new SlackOutbox(redis, prefix, client, logger, createMetrics(), { gapMs: 1 });
    alerts = new AlertStore(redis, prefix);
    graphs = createGraphDeps(redis, prefix, GRAPH_DEFAULTS, { url: prometheus.url });
    const searchPlan: PlanStep[] = [{ kind: 'scale', service: 'search', target: 'search', from: 3, to: 5 }];
    const requests = new Map([
      ['r0000d001', { plan: deployPlan, requester: ENGINEER }],
      ['r0000d002', { plan: searchPlan, requester: ENGINEER }],
    ]);
    deps = {
      graphs,
      outbox,
      slack: client,
      requests: { get: async (id) => requests.get(id) },
      logger,
      now: () => END,
    };
    const audit = new AuditLog(redis, prefix, logger);
    const change = { actor: 'bot', environment: 'production', detail: 'payment: v1.5.0 → v1.6.0' };
    await audit.record(
      { ...change, type: 'succeeded', request: 'r0000d001', services: ['payment'] },
      STEP_AT - MIN,
    );
    // Another service's change, and a change before the window: not on this graph.
    await audit.record({ ...change, type: 'succeeded', request: 'r0000d002', services: ['search'] }, STEP_AT);
    await audit.record(
      { ...change, type: 'succeeded', request: 'r0000d001', services: ['payment'] },
      START - 5 * MIN,
    );
  }, 60_000);

  afterAll(async () => {
    await outbox?.stop();
    await prometheus?.stop();
    await slack?.stop();
    await redis?.quit();
    await dropPrefix(prefix);
  });

  /** A firing group of `expr`'s rule, its parent message posted unless told not to. */
  async function openGroup(
    expr: string | undefined,
    options: { post?: boolean } = {},
  ): Promise<{ group: AlertGroup; threadTs?: string }> {
    groups += 1;
    const labels = {
      alertname: 'AzoraHighErrorRate',
      namespace: 'azora-production',
      service: 'payment',
      severity: 'warning',
    };
    const notification: Notification = {
      version: '4',
      groupKey: `{}:{alertname="AzoraHighErrorRate",n="${groups}"}`,
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'azora',
      groupLabels: { alertname: 'AzoraHighErrorRate' },
      commonLabels: labels,
      commonAnnotations: { summary: 'payment answers 5xx' },
      externalURL: 'http://alertmanager:9093',
      alerts: [
        {
          status: 'firing',
          labels,
          annotations: {},
          startsAt: new Date(STEP_AT + 2 * MIN).toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: expr === undefined ? '' : link(expr),
          fingerprint: `fp${groups}`,
        },
      ],
    };
    const { group } = await alerts.apply(notification, noStorm, END);
    if (options.post === false) return { group };
    await outbox.put(group.channel, parentKey(group), note('AzoraHighErrorRate'));
    const threadTs = await waitFor(
      async () => {
        await outbox.pumpOnce();
        return outbox.tsOf(parentKey(group));
      },
      (ts) => ts !== undefined,
      { what: 'the parent message' },
    );
    return { group, threadTs };
  }

  const filesIn = (threadTs: string) => slack.files.filter((f) => f.threadTs === threadTs);
  /** The thread's `no graph` line, once the outbox has posted it. */
  const noGraphLine = (threadTs: string) =>
    waitFor(
      async () => {
        await outbox.pumpOnce();
        return slack.messages.find((m) => m.threadTs === threadTs && m.text.startsWith('no graph'))?.text;
      },
      (text) => text !== undefined,
      { what: 'the no graph line' },
    );

  it('uploads the PNG into the thread once per episode, with the deploy marked', async () => {
    const { group, threadTs } = await openGroup(`${NAME} > 0.05`);
    const outcome = await drawAlertGraph(deps, group, parentKey(group), { episode: 1, job: job('1') });
    expect(outcome).toEqual({ drawn: true, series: 2, markers: 1 });

    const files = filesIn(threadTs!);
    expect(files).toHaveLength(1);
    const file = files[0]!;
    expect(file).toMatchObject({ state: 'complete', channel: group.channel, threadTs });
    expect(file.name).toMatch(/^AzoraHighErrorRate-\d{8}-\d{4}\.png$/);
    expect(file.title).toBe('AzoraHighErrorRate · production/payment (UTC)');
    expect(file.altText).toContain('threshold > 0.05');
    expect(file.altText).toContain(
      `deploy v1.6.0 at ${new Date(STEP_AT - MIN).toISOString().slice(11, 16)} UTC`,
    );
    const png = PNG.sync.read(file.bytes!);
    expect([png.width, png.height]).toEqual([1600, 800]);

    // The same episode again (another job, a second worker): nothing more.
    expect(await drawAlertGraph(deps, group, parentKey(group), { episode: 1, job: job('2') })).toEqual({
      skipped: 'drawn already',
    });
    // A retry of an episode's job after the graph was posted: nothing more either.
    expect(await drawAlertGraph(deps, group, parentKey(group), { episode: 1, job: job('1', 1) })).toEqual({
      skipped: 'drawn already',
    });
    expect(filesIn(threadTs!)).toHaveLength(1);
  });

  it('draws again on the Graph button, at most once per redraw gap', async () => {
    const { group, threadTs } = await openGroup(`${NAME} > 0.05`);
    await drawAlertGraph(deps, group, parentKey(group), { episode: 1, job: job('3') });
    const redraw = (id: string) =>
      drawAlertGraph(deps, group, parentKey(group), { episode: 1, redrawBy: ENGINEER, job: job(id) });
    expect(await redraw('4')).toMatchObject({ drawn: true });
    expect(await redraw('5')).toEqual({ skipped: 'drawn moments ago' });
    expect(filesIn(threadTs!)).toHaveLength(2);
    const wait = await graphs.claims.redrawWait(group.id);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(GRAPH_DEFAULTS.redrawGap);
  });

  it('draws nothing for a digest line, nor for an episode that is over', async () => {
    const { group, threadTs } = await openGroup(`${NAME} > 0.05`);
    const before = slack.files.length;
    expect(
      await drawAlertGraph(deps, { ...group, digest: 'digest-1' }, parentKey(group), {
        episode: 1,
        job: job('6'),
      }),
    ).toEqual({ skipped: 'the group is a digest line' });
    expect(
      await drawAlertGraph(deps, { ...group, episode: 2 }, parentKey(group), { episode: 1, job: job('7') }),
    ).toEqual({ skipped: 'a later episode has its own graph' });
    expect(slack.files.length).toBe(before);
    expect(slack.messages.filter((m) => m.threadTs === threadTs)).toEqual([]);
  });

  it('waits for the thread while attempts remain, then gives up quietly', async () => {
    const { group } = await openGroup(`${NAME} > 0.05`, { post: false });
    await expect(
      drawAlertGraph(deps, group, parentKey(group), { episode: 1, job: job('8', 0) }),
    ).rejects.toThrow(ThreadNotYet);
    expect(await drawAlertGraph(deps, group, parentKey(group), { episode: 1, job: job('8', 5) })).toEqual({
      skipped: 'the thread never appeared',
    });
  });

  it.each([
    ['a query error', `${NAME}{ > 0.05`, /^no graph: query error: .*parse error.* \(bad_data\)$/],
    ['no data', 'azora_nothing_here > 1', /^no graph: no data$/],
    ['an expression that is not a vector', `${NAME}[5m]`, /^no graph: not a range vector \(range vector\)$/],
    [
      'no expression',
      undefined,
      /^no graph: the alert names no expression \(its generatorURL has no g0\.expr\)$/,
    ],
  ])('leaves one line in the thread for %s, and does not try again', async (_, expr, line) => {
    const { group, threadTs } = await openGroup(expr);
    const outcome = await drawAlertGraph(deps, group, parentKey(group), {
      episode: 1,
      job: job(`f${groups}`),
    });
    expect(outcome).toMatchObject({ failed: expect.any(String) });
    expect(await noGraphLine(threadTs!)).toMatch(line);
    expect(
      await drawAlertGraph(deps, group, parentKey(group), { episode: 1, job: job(`g${groups}`) }),
    ).toEqual({
      skipped: 'drawn already',
    });
    expect(filesIn(threadTs!)).toEqual([]);
  });

  it('without Prometheus draws nothing, and says so only to a pressed Graph button', async () => {
    const { group, threadTs } = await openGroup(`${NAME} > 0.05`);
    const without: DrawDeps = { ...deps, graphs: { ...graphs, prometheus: undefined } };
    expect(await drawAlertGraph(without, group, parentKey(group), { episode: 1, job: job('h1') })).toEqual({
      skipped: 'no Prometheus',
    });
    await drawAlertGraph(without, group, parentKey(group), {
      episode: 1,
      redrawBy: ENGINEER,
      job: job('h2'),
    });
    expect(await noGraphLine(threadTs!)).toBe('no graph: the bot has no Prometheus to ask (PROMETHEUS_URL)');
  });

  it('runs as the alert-graph job: the group read from the store by id', async () => {
    const { group, threadTs } = await openGroup(`${NAME} > 0.05`);
    // The parts of the worker's context the job reaches for; the rest stays unset.
    const ctx = { ...deps, alerts, job: job('j1') } as unknown as JobContext;
    expect(await alertGraphProcessor.run({ groupId: group.id, episode: 1 }, ctx)).toMatchObject({
      drawn: true,
    });
    expect(filesIn(threadTs!)).toHaveLength(1);
    expect(await alertGraphProcessor.run({ groupId: '0123456789abcdef', episode: 1 }, ctx)).toEqual({
      skipped: 'the group is gone',
    });
  });

  it('says so in the thread when Slack’s upload URL refuses the bytes, and shares nothing', async () => {
    const { group, threadTs } = await openGroup(`${NAME} > 0.05`);
    slack.failNext('upload_url', 503);
    await drawAlertGraph(deps, group, parentKey(group), { episode: 1, job: job('u1') });
    expect(await noGraphLine(threadTs!)).toBe(
      'no graph: Slack refused the upload (the upload URL answered 503)',
    );
    expect(filesIn(threadTs!)).toEqual([]);
  });

  it('says Prometheus is unreachable once it has stopped', async () => {
    const { group, threadTs } = await openGroup(`${NAME} > 0.05`);
    await prometheus.stop();
    await drawAlertGraph(deps, group, parentKey(group), { episode: 1, job: job('z') });
    expect(await noGraphLine(threadTs!)).toBe('no graph: Prometheus is unreachable (ECONNREFUSED)');
  });
});
