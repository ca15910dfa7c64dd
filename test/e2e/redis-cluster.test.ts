import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { actionId } from '../../src/kernel/slack/actions';
import { defaultPolicyPath, loadPolicy } from '../../src/config/policy';
import { createLogger } from '../../src/kernel/log';
import { Queues } from '../../src/kernel/queue/queues';
import { SimulatedSlack } from '../../sandbox/slack-api';
import { AuditLog } from '../../src/kernel/audit';
import { RequestStore } from '../../src/requests/store';
import { closeRedis, connectRedis } from '../../src/kernel/redis';
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
import { runBot } from '../kit/process';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';
import { freePort } from '../kit/redis-server';
import { startTestRedisCluster, type TestRedisCluster } from '../kit/redis-cluster';
import {
  buttonClickBody,
  postToSlackEndpoint,
  sendButtonClick,
  sendSlashCommand,
  signedHeaders,
} from '../kit/slack-requests';
import { waitFor } from '../kit/wait';
import { ENGINEER, OPS, PROD, STG, WEBHOOK_TOKEN } from '../kit/ids';

describe('the bot on a three-master Redis Cluster', () => {
  let redis: TestRedisCluster;
  let cluster: TestCluster;
  let t: TestBot;

  beforeAll(async () => {
    redis = await startTestRedisCluster();
    cluster = await startTestCluster();
    const policy = { ...cluster.policy, alerts: { ...cluster.policy.alerts, slackGap: 50 } };
    t = await startTestBot({
      cluster: { ...cluster, policy },
      policy,
      // A hash-tagged prefix of this run's own, as `{azora}` is in production.
      prefix: uniquePrefix(),
      env: { REDIS_CLUSTER_NODES: redis.env, ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN },
    });
  });
  afterAll(async () => {
    // The cluster goes away whole; there is nothing under the prefix to keep or drop elsewhere.
    await t?.stop({ keepData: true });
    await cluster?.sim.stop();
    await redis?.stop();
  });

  const slash = async (user: string, text: string) => {
    const res = await sendSlashCommand(t.url, t.secret, {
      text,
      user,
      channel: OPS,
      responseUrl: t.slack.responseUrl(OPS, user),
    });
    expect(res.status).toBe(200);
  };
  const approve = (user: string, requestId: string, messageTs: string) =>
    sendButtonClick(t.url, t.secret, {
      user,
      actionId: actionId('approve', requestId),
      value: requestId,
      channel: OPS,
      messageTs,
      responseUrl: t.slack.responseUrl(OPS, user),
    });

  it('builds Cluster connections BullMQ accepts: null retries for workers, and only for them', async () => {
    const logger = createLogger('silent');
    const config = { redisUrl: TEST_REDIS_URL, redisClusterNodes: redis.nodes };
    const blocking = connectRedis(config, 'blocking', logger);
    const commands = connectRedis(config, 'commands', logger);
    try {
      expect(blocking).toBeInstanceOf(Cluster);
      // ioredis has no cluster-level maxRetriesPerRequest: it lives in the per-node
      // redisOptions, which is also where BullMQ looks when it is handed a Cluster.
      expect((blocking as Cluster).options.redisOptions?.maxRetriesPerRequest).toBeNull();
      expect((commands as Cluster).options.redisOptions?.maxRetriesPerRequest).toBe(1);
      const worker = new Worker('probe', async () => 'done', { connection: blocking, prefix: t.prefix });
      try {
        await worker.waitUntilReady();
      } finally {
        await worker.close();
      }
    } finally {
      await closeRedis(blocking);
      await closeRedis(commands);
    }
  });

  it('runs a staging scale end to end', async () => {
    await slash(ENGINEER, 'scale staging auth 4');
    const request = await requestIn(t.slack, 'scale staging auth 4');
    expect(await finalProgressOf(t.slack, request.ts)).toMatch(/^:large_green_circle: succeeded/);
    expect(progressOf(t.slack, request.ts)!.text).toContain('auth: azora-auth scaled 2 → 4');
    expect((cluster.sim.get('deployments', STG, 'azora-auth')!.spec as { replicas: number }).replicas).toBe(
      4,
    );
  });

  it('opens an alert thread from the webhook, once for a repeated delivery', async () => {
    const notification = firingNotification(
      'AzoraHighCPU',
      { severity: 'warning', namespace: STG, service: 'payment' },
      'CPU above 70% on payment',
    );
    const statuses = await Promise.all(
      [1, 2, 3].map(() => postNotification(t.url, WEBHOOK_TOKEN, notification)),
    );
    expect(statuses).toEqual([202, 202, 202]);
    await waitFor(
      () => t.slack.messages.filter((m) => !m.threadTs && m.text.includes('*AzoraHighCPU* — payment')),
      (m) => m.length > 0,
      { what: 'the alert thread' },
    );
    await untilSettled(t.bot);
    const parents = t.slack.messages.filter((m) => !m.threadTs && m.text.includes('*AzoraHighCPU*'));
    expect(parents).toHaveLength(1);
    expect(parents[0]!.channel).toBe('C0ALERTS');
  });

  it('runs a production switch once when two approvers click at once', async () => {
    await slash(ENGINEER, 'switch production green payment');
    const request = await requestIn(t.slack, 'switch production green payment');
    await untilPendingApproval(t.bot.deps.requests, request.id);
    await Promise.all([
      approve('U0APPROVER1', request.id, request.ts),
      approve('U0APPROVER2', request.id, request.ts),
      approve('U0APPROVER1', request.id, request.ts),
    ]);
    expect(await finalProgressOf(t.slack, request.ts)).toMatch(/^:large_green_circle: succeeded/);
    const selector = (
      cluster.sim.get('services', PROD, 'azora-payment')!.spec as {
        selector: Record<string, string>;
      }
    ).selector;
    expect(selector.version).toBe('green');
    const audit = (await t.bot.deps.audit.recent(50)).filter((e) => e.request === request.id);
    expect(audit.filter((e) => e.type === 'approved')).toHaveLength(1);
    expect(audit.filter((e) => e.type === 'succeeded')).toHaveLength(1);
    const jobs = await t.bot.queues
      .get('ops')
      .getJobs(['completed', 'active', 'waiting', 'delayed', 'failed']);
    expect(jobs.filter((j) => j.name === 'execute-request' && j.data.requestId === request.id)).toHaveLength(
      1,
    );
    const patches = cluster.sim.requests.filter(
      (r) => r.method === 'PATCH' && r.url.includes('/services/azora-payment') && r.status < 300,
    );
    expect(patches).toHaveLength(1);
  });

  it('keeps every key it wrote in its prefix’s one hash slot', async () => {
    const perNode = await Promise.all(
      redis.nodes.map(async (node) => {
        const client = new Redis({
          host: '127.0.0.1',
          port: Number(node.split(':')[1]),
          maxRetriesPerRequest: 1,
        });
        try {
          const slot = Number(await client.call('CLUSTER', 'KEYSLOT', t.prefix));
          // Both counts in one transaction: the bot still adds and drops keys (BullMQ's
          // lists vanish when empty), and two separate reads could see different moments.
          const [[, keys], [, inSlot]] = (await client
            .multi()
            .dbsize()
            .call('CLUSTER', 'COUNTKEYSINSLOT', slot)
            .exec()) as [[null, number], [null, number]];
          return { keys, inSlot };
        } finally {
          client.disconnect();
        }
      }),
    );
    // One node holds the slot and every key; the others hold none.
    expect(perNode.filter((n) => n.keys > 0)).toHaveLength(1);
    expect(perNode.reduce((sum, n) => sum + n.inSlot, 0)).toBe(perNode.reduce((sum, n) => sum + n.keys, 0));
    expect(perNode.reduce((sum, n) => sum + n.keys, 0)).toBeGreaterThan(10);
  });
});

describe('scale-out: two web and two worker processes on one Redis', () => {
  const prefix = uniquePrefix();
  const secret = randomBytes(16).toString('hex');
  const SERVICES = ['api-gateway', 'auth', 'education', 'payment'];
  const GROUPS = 6;
  let dir: string;
  let cluster: TestCluster;
  let slack: SimulatedSlack;
  let redis: Redis;
  let queues: Queues;
  let audit: AuditLog;
  let store: RequestStore;
  const processes: { role: string; bot: ReturnType<typeof runBot> }[] = [];
  const webs: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'azora-scale-out-'));
    // The shipped policy with a short Slack pacing gap, so the alert threads do not take seconds
    // each, and the engineer among those who may request production changes.
    const policyFile = path.join(dir, 'policy.yaml');
    const text = await readFile(defaultPolicyPath(), 'utf8');
    await writeFile(
      policyFile,
      text
        .replace('slackGap: 1100ms', 'slackGap: 100ms')
        .replace('request: [S0SREGROUP]', `request: [S0SREGROUP, ${ENGINEER}]`),
    );
    const policy = loadPolicy(policyFile);
    expect(policy.alerts.slackGap).toBe(100);
    cluster = await startTestCluster({ policy });
    const kubeconfig = path.join(dir, 'kubeconfig');
    await cluster.sim.writeKubeconfig(kubeconfig);
    slack = await new SimulatedSlack().start();
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    queues = new Queues(redis, prefix);
    audit = new AuditLog(redis, prefix, createLogger('silent'));
    store = new RequestStore(redis, prefix);

    const env = {
      REDIS_PREFIX: prefix,
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: secret,
      SLACK_API_URL: slack.apiUrl,
      KUBECONFIG: kubeconfig,
      AZORA_POLICY: policyFile,
      ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
    };
    for (const role of ['web', 'web', 'worker', 'worker']) {
      const port = role === 'web' ? await freePort() : 0;
      processes.push({ role, bot: runBot({ ...env, PORT: String(port) }, [role]) });
      if (role === 'web') webs.push(`http://127.0.0.1:${port}`);
    }
    await Promise.all(
      webs.map((url) =>
        waitFor(
          () =>
            fetch(`${url}/readyz`)
              .then((r) => r.status)
              .catch(() => 0),
          (status) => status === 200,
          { what: `${url}/readyz`, timeoutMs: 20_000, intervalMs: 100 },
        ),
      ),
    );
    // Both workers listen on every queue before anything is sent. (The alert inbox needs no
    // such wait: whichever worker reads first takes a notification, the other the next.)
    for (const name of ['ops', 'notify'] as const) {
      await waitFor(
        async () => (await queues.get(name).getWorkers()).length,
        (n) => n === 2,
        { what: `two workers on ${name}`, timeoutMs: 20_000, intervalMs: 100 },
      );
    }
  }, 40_000);
  afterAll(async () => {
    for (const { bot } of processes) {
      if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
    }
    await Promise.all(processes.map(({ bot }) => bot.exited));
    await queues?.close();
    await redis?.quit();
    await slack?.stop();
    await cluster?.sim.stop();
    await dropPrefix(prefix);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const web = (i: number) => webs[i % webs.length]!;

  it('runs N production requests, each approved once and applied once, across both web processes', async () => {
    await Promise.all(
      SERVICES.map(async (service, i) => {
        const res = await sendSlashCommand(web(i), secret, {
          text: `scale production ${service} 5`,
          user: ENGINEER,
          channel: OPS,
          responseUrl: slack.responseUrl(OPS, ENGINEER),
        });
        expect(res.status).toBe(200);
      }),
    );
    const requests = await Promise.all(SERVICES.map((s) => requestIn(slack, `scale production ${s} 5`)));
    await Promise.all(requests.map((r) => untilPendingApproval(store, r.id)));
    // Two approvers on the two web processes at once, and Slack redelivering one of the
    // clicks (the same signed body) to the other process.
    await Promise.all(
      requests.flatMap((request, i) => {
        const click = (user: string) =>
          buttonClickBody({
            user,
            actionId: actionId('approve', request.id),
            value: request.id,
            channel: OPS,
            messageTs: request.ts,
            responseUrl: slack.responseUrl(OPS, user),
          });
        const first = click('U0APPROVER1');
        const second = click('U0APPROVER2');
        return [
          postToSlackEndpoint(web(i), first, signedHeaders(first, secret)),
          postToSlackEndpoint(web(i + 1), second, signedHeaders(second, secret)),
          postToSlackEndpoint(web(i + 1), first, signedHeaders(first, secret)),
        ];
      }),
    );
    for (const request of requests) {
      expect(await finalProgressOf(slack, request.ts, 20_000)).toMatch(/^:large_green_circle: succeeded/);
    }

    const events = await audit.recent(500);
    const jobs = await queues
      .get('ops')
      .getJobs(['completed', 'active', 'waiting', 'delayed', 'failed'], 0, 500);
    for (const [i, service] of SERVICES.entries()) {
      const id = requests[i]!.id;
      expect(events.filter((e) => e.request === id && e.type === 'approved')).toHaveLength(1);
      expect(events.filter((e) => e.request === id && e.type === 'succeeded')).toHaveLength(1);
      expect(jobs.filter((j) => j.name === 'execute-request' && j.data.requestId === id)).toHaveLength(1);
      // Production is blue/green behind HPAs: the scale moves the live colour's HPA bounds, once.
      const hpaPatches = cluster.sim.requests.filter(
        (r) =>
          r.method === 'PATCH' &&
          r.url.includes(`/horizontalpodautoscalers/azora-${service}-`) &&
          r.status < 300,
      );
      expect(hpaPatches).toHaveLength(1);
      const hpa = cluster.sim.get('horizontalpodautoscalers', PROD, `azora-${service}-blue`)!;
      expect((hpa.spec as { minReplicas: number }).minReplicas).toBe(5);
    }
    // The approver who came second was told who approved, by whichever process took it;
    // the redelivered click was a replay and changed nothing.
    await waitFor(
      () => slack.messages.filter((m) => m.visibleTo && m.text.includes('already approved by')).length,
      (n) => n === SERVICES.length,
      { what: 'a refusal for the second approver of each request' },
    );
  });

  it('opens one thread per alert group when both web processes get every notification', async () => {
    const notifications = Array.from({ length: GROUPS }, (_, i) =>
      firingNotification(
        'AzoraHighMemory',
        { severity: 'warning', namespace: STG, service: `scale-out-${i}` },
        `memory above 80% on scale-out-${i}`,
      ),
    );
    const statuses = await Promise.all(
      notifications.flatMap((n) => [0, 1, 0, 1].map((w) => postNotification(web(w), WEBHOOK_TOKEN, n))),
    );
    expect(statuses.every((s) => s === 202)).toBe(true);
    const parents = () => slack.messages.filter((m) => !m.threadTs && m.text.includes('*AzoraHighMemory*'));
    await waitFor(parents, (p) => p.length >= GROUPS, { what: `${GROUPS} alert threads`, timeoutMs: 15_000 });
    // Time for a duplicate to show up, if one were on its way: a few outbox pacing gaps.
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < GROUPS; i++) {
      expect(parents().filter((m) => m.text.endsWith(`on scale-out-${i}`))).toHaveLength(1);
    }
    expect(parents()).toHaveLength(GROUPS);
    const posts = slack
      .callsOf('chat.postMessage')
      .filter((c) => String(c.args.text).includes('*AzoraHighMemory*'));
    expect(posts).toHaveLength(GROUPS);
  });

  it('stops all four processes on SIGTERM, each with exit code 0', async () => {
    for (const { bot } of processes) bot.child.kill('SIGTERM');
    const results = await Promise.all(processes.map(({ bot }) => bot.exited));
    // On a failure, the tail of what the process logged says why it did not stop cleanly.
    expect(
      results.map((r, i) => ({
        role: processes[i]!.role,
        code: r.code,
        stderr: r.stderr,
        log: r.code === 0 ? '' : r.stdout.slice(-3_000),
      })),
    ).toEqual(processes.map(({ role }) => ({ role, code: 0, stderr: '', log: '' })));
  });
});
