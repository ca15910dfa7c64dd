import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { postMessageJob } from '../../src/kernel/slack/contracts';
import { defaultPolicyPath } from '../../src/config/policy';
import { Queues } from '../../src/kernel/queue/queues';
import { SimulatedSlack } from '../../sandbox/slack-api';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';
import { startTestCluster } from '../kit/cluster';
import { runBot } from '../kit/process';
import { freePort } from '../kit/redis-server';
import { waitFor } from '../kit/wait';

describe('start-up refuses bad configuration with one clear line', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'azora-policy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the policy file and field, exits 1, prints no stack', async () => {
    const broken = readFileSync(defaultPolicyPath(), 'utf8').replace(
      'replicas: { min: 3, max: 10 }',
      'replicas: { min: 12, max: 10 }',
    );
    const file = path.join(dir, 'policy.yaml');
    writeFileSync(file, broken);
    const { code, stderr } = await runBot({ AZORA_POLICY: file }).exited;
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      `azora-chatops: policy ${file}: services.api-gateway.replicas: min must not exceed max`,
    );
  });

  it('names the environment variable', async () => {
    const { code, stderr } = await runBot({ PORT: '70000' }).exited;
    expect(code).toBe(1);
    expect(stderr.trim()).toBe('azora-chatops: environment PORT: expected a port number between 0 and 65535');
  });

  it('names PORT when another process holds the port, for either role', async () => {
    const slack = await new SimulatedSlack().start();
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      for (const role of ['web', 'worker']) {
        const env = {
          SLACK_BOT_TOKEN: slack.botToken,
          SLACK_SIGNING_SECRET: 'secret',
          SLACK_API_URL: slack.apiUrl,
          REDIS_PREFIX: uniquePrefix(),
          PORT: String(port),
        };
        const { code, stderr } = await runBot(env, [role]).exited;
        expect([role, code, stderr.trim()]).toEqual([
          role,
          1,
          `azora-chatops: environment PORT: ${port} is already in use`,
        ]);
      }
    } finally {
      holder.close();
      await slack.stop();
    }
  });

  it('names a kubeconfig the worker cannot read', async () => {
    const slack = await new SimulatedSlack().start();
    try {
      const missing = path.join(dir, 'no-such-kubeconfig');
      const env = {
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_SIGNING_SECRET: 'secret',
        SLACK_API_URL: slack.apiUrl,
        REDIS_PREFIX: uniquePrefix(),
        KUBECONFIG: missing,
      };
      const { code, stderr } = await runBot(env, ['worker']).exited;
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(
        `azora-chatops: kubeconfig: ENOENT: no such file or directory, open '${missing}'`,
      );
    } finally {
      await slack.stop();
    }
  });

  it('says what to set when the product runs without Slack credentials: the simulators are not in it', async () => {
    const { code, stderr } = await runBot({}).exited;
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      'azora-chatops: SLACK_BOT_TOKEN is not set: set it and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode) from the Slack app (see the README), or run the offline sandbox with `npm start` in a checkout',
    );
  });

  it('refuses an unknown role', async () => {
    const { code, stderr } = await runBot({}, ['janitor']).exited;
    expect(code).toBe(1);
    expect(stderr.trim()).toBe('azora-chatops: usage: azora-chatops [web|worker|all]');
  });
});

describe('starting while what the bot depends on is away', () => {
  it('starts a worker and a web process while Slack cannot be reached, and stops them cleanly', async () => {
    // Nothing listens there: Slack is down, or the network to it.
    const deadSlack = `http://127.0.0.1:${await freePort()}/api/`;
    const env = {
      SLACK_BOT_TOKEN: 'xoxb-1-not-checkable-now',
      SLACK_SIGNING_SECRET: 'test-secret',
      SLACK_API_URL: deadSlack,
      REDIS_PREFIX: uniquePrefix(),
      LOG_LEVEL: 'info',
    };
    for (const role of ['worker', 'web']) {
      const bot = runBot(env, [role]);
      try {
        await waitFor(
          () => (bot.child.exitCode !== null ? 'exited' : bot.output().stdout),
          (out) => out === 'exited' || out.includes('azora-chatops started'),
          { what: `the ${role} to start`, timeoutMs: 30_000 },
        );
        expect(bot.output().stdout).toContain('Slack could not be reached to check SLACK_BOT_TOKEN');
        bot.child.kill('SIGTERM');
        const { code, stderr } = await bot.exited;
        expect([role, code, stderr]).toEqual([role, 0, '']);
      } finally {
        if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
      }
    }
  });

  it('stops at start, naming SLACK_BOT_TOKEN, when Slack itself refuses the token', async () => {
    const slack = await new SimulatedSlack().start();
    try {
      const env = {
        SLACK_BOT_TOKEN: 'xoxb-1-revoked',
        SLACK_SIGNING_SECRET: 'test-secret',
        SLACK_API_URL: slack.apiUrl,
        REDIS_PREFIX: uniquePrefix(),
      };
      const { code, stderr } = await runBot(env, ['worker']).exited;
      expect(code).toBe(1);
      expect(stderr.trim()).toMatch(
        /^azora-chatops: environment SLACK_BOT_TOKEN: Slack did not accept it \(.*not_authed\)$/,
      );
    } finally {
      await slack.stop();
    }
  });

  it('stops within SHUTDOWN_TIMEOUT when told to while it waits for Redis to start', async () => {
    const slack = await new SimulatedSlack().start();
    try {
      const bot = runBot(
        {
          SLACK_BOT_TOKEN: slack.botToken,
          SLACK_SIGNING_SECRET: 'test-secret',
          SLACK_API_URL: slack.apiUrl,
          REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
          REDIS_PREFIX: uniquePrefix(),
          SHUTDOWN_TIMEOUT: '1',
          LOG_LEVEL: 'info',
        },
        ['worker'],
      );
      await waitFor(
        () => bot.output().stdout,
        (out) => out.includes('redis unreachable; retrying'),
        { what: 'the start to wait for Redis', timeoutMs: 20_000 },
      );
      bot.child.kill('SIGTERM');
      let cap: NodeJS.Timeout | undefined;
      const hung = new Promise<'hung'>((resolve) => (cap = setTimeout(() => resolve('hung'), 15_000)));
      const outcome = await Promise.race([bot.exited, hung]);
      clearTimeout(cap);
      if (outcome === 'hung') bot.child.kill('SIGKILL');
      expect(outcome).toMatchObject({ code: 1, stderr: '' });
      expect(bot.output().stdout).toContain('stopped while starting');
    } finally {
      await slack.stop();
    }
  });
});

describe('SIGTERM while a job runs', () => {
  const prefix = uniquePrefix();
  let slack: SimulatedSlack;
  let redis: Redis;
  let queues: Queues;

  beforeAll(async () => {
    slack = await new SimulatedSlack().start();
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    queues = new Queues(redis, prefix);
  });
  afterAll(async () => {
    await queues.close();
    await redis.quit();
    await slack.stop();
    await dropPrefix(prefix);
  });

  it('lets the job finish, then exits 0', async () => {
    const bot = runBot(
      {
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_SIGNING_SECRET: 'test-secret',
        SLACK_API_URL: slack.apiUrl,
        REDIS_PREFIX: prefix,
      },
      ['worker'],
    );
    slack.delay('chat.postMessage', 1_500);
    const jobId = await queues.enqueue(postMessageJob, { channel: 'C0AZORAOPS', text: 'deploy finished' });
    const job = (await queues.get('notify').getJob(jobId))!;
    await waitFor(
      () => job.getState(),
      (s) => s === 'active',
      { what: 'the job to start' },
    );

    bot.child.kill('SIGTERM');
    const { code, stderr } = await bot.exited;

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(await job.getState()).toBe('completed');
    expect(slack.callsOf('chat.postMessage').map((c) => c.args.text)).toEqual(['deploy finished']);
  });
});

describe('the worker role on its own', () => {
  it('serves /healthz, /readyz (Redis and the cluster API) and its job metrics', async () => {
    const slack = await new SimulatedSlack().start();
    const cluster = await startTestCluster();
    const kubeconfig = path.join(mkdtempSync(path.join(tmpdir(), 'azora-worker-')), 'config');
    await cluster.sim.writeKubeconfig(kubeconfig);
    const port = await freePort();
    const prefix = uniquePrefix();
    const worker = runBot(
      {
        PORT: String(port),
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_SIGNING_SECRET: 's',
        SLACK_API_URL: slack.apiUrl,
        REDIS_PREFIX: prefix,
        KUBECONFIG: kubeconfig,
      },
      ['worker'],
    );
    const url = `http://127.0.0.1:${port}`;
    const readiness = () =>
      fetch(`${url}/readyz`).then(
        async (r) => ({ status: r.status, body: (await r.json()) as Record<string, string> }),
        () => ({ status: 0, body: {} as Record<string, string> }),
      );
    try {
      const ready = await waitFor(readiness, (r) => r.status === 200, { what: 'worker readiness' });
      expect(ready.body).toEqual({ status: 'ready', redis: 'ok', kubernetes: 'ok' });
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      // Its ops server keeps an idle connection as long as the web role does (a probe's or a scraper's).
      expect(health.headers.get('keep-alive')).toBe('timeout=65');
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^# HELP azora_jobs_total /m);
      // The bot runs on Node 24 LTS (npm scripts: node_modules/.bin/node; the image: node:24).
      expect(metrics).toMatch(/^azora_nodejs_version_info\{version="v24\.\d+\.\d+",major="24",/m);
      expect((await fetch(`${url}/slack/events`, { method: 'POST' })).status).toBe(404);

      // The cluster API going away makes the worker unready, naming it; it comes back with it.
      await cluster.sim.faults.stopListening();
      const down = await waitFor(readiness, (r) => r.status === 503, { what: 'unready without the API' });
      expect(down.body.kubernetes).toMatch(/^unreachable: .*API is unreachable \(ECONNREFUSED\)/);
      expect(down.body.redis).toBe('ok');
      await cluster.sim.faults.startListening();
      await waitFor(readiness, (r) => r.status === 200, { what: 'ready again with the API' });
    } finally {
      worker.child.kill('SIGTERM');
      expect((await worker.exited).code).toBe(0);
      await slack.stop();
      await cluster.sim.stop();
      rmSync(path.dirname(kubeconfig), { recursive: true, force: true });
      await dropPrefix(prefix);
    }
  });
});

describe('both roles in one process', () => {
  it('answers /readyz for the worker’s cluster API too, where a cluster is configured', async () => {
    const slack = await new SimulatedSlack().start();
    const cluster = await startTestCluster();
    const dir = mkdtempSync(path.join(tmpdir(), 'azora-all-'));
    const kubeconfig = path.join(dir, 'config');
    await cluster.sim.writeKubeconfig(kubeconfig);
    const env = {
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: 's',
      SLACK_API_URL: slack.apiUrl,
    };
    const [withCluster, without] = [
      { port: await freePort(), prefix: uniquePrefix(), extra: { KUBECONFIG: kubeconfig } },
      { port: await freePort(), prefix: uniquePrefix(), extra: {} },
    ];
    const bots = [withCluster, without].map(({ port, prefix, extra }) =>
      runBot({ ...env, ...extra, PORT: String(port), REDIS_PREFIX: prefix }, ['all']),
    );
    const readiness = (port: number) =>
      fetch(`http://127.0.0.1:${port}/readyz`).then(
        async (r) => ({ status: r.status, body: (await r.json()) as Record<string, string> }),
        () => ({ status: 0, body: {} as Record<string, string> }),
      );
    try {
      const ready = await waitFor(
        () => readiness(withCluster.port),
        (r) => r.status === 200 && 'kubernetes' in r.body,
        { what: 'readiness with the cluster' },
      );
      expect(ready.body).toEqual({ status: 'ready', redis: 'ok', kubernetes: 'ok' });
      // Nothing names a cluster: readiness is Redis's alone, as in the web role.
      const alone = await waitFor(
        () => readiness(without.port),
        (r) => r.status === 200,
        { what: 'readiness without a cluster' },
      );
      expect(alone.body).toEqual({ status: 'ready', redis: 'ok' });

      await cluster.sim.faults.stopListening();
      const down = await waitFor(
        () => readiness(withCluster.port),
        (r) => r.status === 503,
        { what: 'unready without the API' },
      );
      expect(down.body.kubernetes).toMatch(/^unreachable: .*API is unreachable \(ECONNREFUSED\)/);
    } finally {
      for (const bot of bots) bot.child.kill('SIGTERM');
      for (const bot of bots) expect((await bot.exited).code).toBe(0);
      await slack.stop();
      await cluster.sim.stop();
      rmSync(dir, { recursive: true, force: true });
      await dropPrefix(withCluster.prefix);
      await dropPrefix(without.prefix);
    }
  });
});
