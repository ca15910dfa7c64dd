import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config/env';
import { GRAPH_DEFAULTS } from '../../src/config/policy';
import { expressionOfGeneratorUrl } from '../../src/graphs/domain/expression';
import { PrometheusClient } from '../../src/kernel/prometheus';
import { notificationSchema, type Notification } from '../../src/alerts/domain/payload';
import { startSandbox, type Sandbox } from '../../sandbox';
import { ruleExpression } from '../../sandbox/prometheus';
import { SANDBOX_GRAPHS, sandboxPolicy } from '../../sandbox/users';
import type { SimulatedCluster } from '../../sandbox/cluster';
import { SimulatedSlack } from '../../sandbox/slack-api';
import { Workspace } from '../../sandbox/workspace/workspace';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';
import { waitFor } from '../kit/wait';
import { defaultPolicy, httpKubeConfig, PRODUCTION, startCluster } from './helpers';

const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const logger = pino({ level: 'silent' });

interface Received {
  authorization: string | undefined;
  body: Notification;
}

/**
 * Stands in for the bot's web port: records what reaches POST /alertmanager, where the
 * sandbox sends alerts (the menu's and the cluster's), and answers `statuses` in turn, then 200.
 */
async function fakeBot(
  statuses: number[] = [],
): Promise<{ port: number; received: Received[]; attempts: () => number; server: Server }> {
  const received: Received[] = [];
  let attempts = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/alertmanager') {
        res.writeHead(404);
        return void res.end();
      }
      attempts += 1;
      const status = statuses.shift() ?? 200;
      if (status === 200) {
        received.push({
          authorization: req.headers.authorization,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Notification,
        });
      }
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: status === 200 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, received, attempts: () => attempts, server };
}

async function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** A `-bad` version on payment's idle colour, then the switch: the story the workspace suggests. */
async function releaseBadPayment(cluster: SimulatedCluster): Promise<void> {
  const kc = httpKubeConfig(cluster);
  await kc.makeApiClient(AppsV1Api).patchNamespacedDeployment(
    {
      name: 'azora-payment-green',
      namespace: PRODUCTION,
      body: {
        spec: {
          template: {
            spec: {
              containers: [{ name: 'payment', image: 'registry.azora.world/azora/payment:v1.6.0-bad' }],
            },
          },
        },
      },
    },
    strategicPatch,
  );
  await cluster.settle();
  await selectColour(cluster, 'green');
}

async function selectColour(cluster: SimulatedCluster, colour: 'blue' | 'green'): Promise<void> {
  await httpKubeConfig(cluster)
    .makeApiClient(CoreV1Api)
    .patchNamespacedService(
      { name: 'azora-payment', namespace: PRODUCTION, body: { spec: { selector: { version: colour } } } },
      strategicPatch,
    );
  await cluster.settle();
}

describe("the workspace delivers the cluster's own alerts to the bot's Alertmanager webhook", () => {
  let cluster: SimulatedCluster;
  let workspace: Workspace;
  let bot: Awaited<ReturnType<typeof fakeBot>>;

  beforeAll(async () => {
    cluster = await startCluster({ badVersionFailAfterMs: 0 });
    // The first delivery is refused once, as a busy bot would: it is sent again.
    bot = await fakeBot([503]);
    workspace = new Workspace({
      slack: new SimulatedSlack(),
      signingSecret: 'secret',
      alertmanagerToken: 'webhook-token',
      policy: defaultPolicy(),
      logger,
      alertRetryMs: 10,
    });
    workspace.setBotPort(bot.port);
    cluster.onAlert((alert) => void workspace.clusterAlert(alert));
  });

  afterAll(async () => {
    workspace?.close();
    await cluster?.stop();
    await closeServer(bot?.server);
  });

  it('fires AzoraHighErrorRate for the failing service, in its own group, with the bearer token', async () => {
    await releaseBadPayment(cluster);
    const [first] = await waitFor(
      () => bot.received,
      (r) => r.length === 1,
      { what: 'the firing alert at the webhook' },
    );
    expect(first!.authorization).toBe('Bearer webhook-token');
    // Refused once, delivered on the next attempt.
    expect(bot.attempts()).toBe(2);
    // What the bot's webhook parses.
    expect(notificationSchema.safeParse(first!.body).success).toBe(true);
    const labels = {
      alertname: 'AzoraHighErrorRate',
      namespace: PRODUCTION,
      service: 'payment',
      severity: 'critical',
      team: 'sre',
      prometheus: 'monitoring/azora',
    };
    expect(first!.body).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'azora-chatops',
      groupLabels: { alertname: 'AzoraHighErrorRate', namespace: PRODUCTION, service: 'payment' },
      commonLabels: labels,
      alerts: [
        {
          status: 'firing',
          labels,
          annotations: {
            summary: expect.stringMatching(/^payment answers 5xx to /) as string,
            description: expect.stringContaining('v1.6.0-bad') as string,
            runbook_url: `http://localhost:${bot.port}/sandbox/runbooks/AzoraHighErrorRate`,
          },
          endsAt: '0001-01-01T00:00:00Z',
        },
      ],
    });
    const startsAt = first!.body.alerts[0]!.startsAt;
    expect(Date.parse(startsAt)).toBe(cluster.firingAlerts()[0]?.startsAt);
    // The rule's expression, where the bot's graph reads it.
    expect(expressionOfGeneratorUrl(first!.body.alerts[0]!.generatorURL)).toBe(
      ruleExpression('AzoraHighErrorRate', defaultPolicy()),
    );
  });

  it('resolves it, in the same group, once the bad pods take no traffic', async () => {
    await selectColour(cluster, 'blue');
    const received = await waitFor(
      () => bot.received,
      (r) => r.length === 2,
      { what: 'the resolved alert at the webhook' },
    );
    const [firing, resolved] = received.map((r) => r.body);
    expect(resolved).toMatchObject({ status: 'resolved', groupKey: firing!.groupKey });
    expect(resolved!.alerts[0]).toMatchObject({
      status: 'resolved',
      fingerprint: firing!.alerts[0]!.fingerprint,
      startsAt: firing!.alerts[0]!.startsAt,
    });
    expect(Date.parse(resolved!.alerts[0]!.endsAt)).toBeGreaterThanOrEqual(
      Date.parse(firing!.alerts[0]!.startsAt),
    );
  });
});

describe('the sandbox wires the cluster alerts to the bot', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'azora-sandbox-alerts-'));
  const prefix = uniquePrefix();
  let sandbox: Sandbox;
  let bot: Awaited<ReturnType<typeof fakeBot>>;

  beforeAll(async () => {
    bot = await fakeBot();
    const env = { REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, AZORA_SANDBOX_DIR: dir, PORT: '0' };
    sandbox = await startSandbox({
      config: loadConfig(env),
      policy: defaultPolicy(),
      logger,
      env,
      alertmanager: 'builtin',
      badVersionFailAfterMs: 0,
    });
    // What the launcher does once the bot listens.
    sandbox.listening(bot.port);
  }, 30_000);

  afterAll(async () => {
    sandbox?.closeStreams();
    await sandbox?.stop();
    await closeServer(bot?.server);
    await dropPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the cluster with smoke checks the simulated app answers', () => {
    for (const svc of Object.values(sandbox.policy.services)) {
      if (svc.deployment) expect(svc.smoke).toEqual([{ path: '/version', status: 200 }]);
    }
  });

  it("points the bot's graphs at its own Prometheus, drawn over the sandbox's minutes", () => {
    expect(sandbox.prometheus).toBeDefined();
    expect(sandbox.config.prometheus).toEqual({ url: sandbox.prometheus!.url });
    expect(sandbox.policy.graphs).toEqual({ ...GRAPH_DEFAULTS, ...SANDBOX_GRAPHS });
    expect(SANDBOX_GRAPHS).toEqual({ window: 5 * 60_000, step: 1_000, redrawGap: 10_000 });
    // A policy that draws its own keeps them.
    const own = defaultPolicy();
    own.graphs = { ...own.graphs, window: 2 * 60 * 60_000 };
    expect(sandboxPolicy(own).graphs).toEqual(own.graphs);
  });

  it("sends a bad release's AzoraHighErrorRate to the bot's /alertmanager with the run's webhook token", async () => {
    await releaseBadPayment(sandbox.cluster);
    const [first] = await waitFor(
      () => bot.received,
      (r) => r.length >= 1,
      { what: 'the alert at the webhook' },
    );
    expect(first!.authorization).toBe(`Bearer ${sandbox.config.alertmanager.webhookToken}`);
    expect(first!.body.commonLabels).toMatchObject({
      alertname: 'AzoraHighErrorRate',
      namespace: PRODUCTION,
      service: 'payment',
      severity: 'critical',
    });
    // Its generatorURL names the rule's expression in the sandbox's Prometheus, which answers
    // it with the failing service over the threshold, as the bot's graph will ask.
    const link = new URL(first!.body.alerts[0]!.generatorURL);
    expect(link.origin).toBe(sandbox.prometheus!.url);
    const expr = expressionOfGeneratorUrl(link.href)!;
    expect(expr).toBe(ruleExpression('AzoraHighErrorRate', sandbox.policy));
    const now = Date.now();
    const over = await new PrometheusClient(sandbox.config.prometheus!).queryRange({
      query: expr,
      start: now - 60_000,
      end: now,
      step: 1_000,
    });
    expect(over.map((s) => s.labels)).toEqual([{ namespace: PRODUCTION, service: 'payment' }]);
    await selectColour(sandbox.cluster, 'blue');
    await waitFor(
      () => bot.received.map((r) => r.body.status),
      (s) => s.join() === 'firing,resolved',
      { what: 'the resolution at the webhook' },
    );
  });
});
