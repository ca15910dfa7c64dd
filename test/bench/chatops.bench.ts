import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultPolicyPath } from '../../src/config/policy';
import { actionId } from '../../src/kernel/slack/actions';
import type { RecordedRequest } from '../../sandbox/cluster/server';
import { SimulatedSlack, type SimulatedSlackOptions } from '../../sandbox/slack-api';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import { runRole, type RunningRole } from '../kit/process';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';
import { sendButtonClick, sendSlashCommand } from '../kit/slack-requests';
import { waitFor } from '../kit/wait';
import { fixedRateEach, ms, percentile } from './load';
import {
  cpuMs,
  largestBurst,
  mb,
  measureSteal,
  ratio,
  rssBytes,
  slash,
  startBareBolt,
  stormNotification,
  table,
} from './rig';

// Every party is a process of its own, as deployed: the bare Bolt app, the bot's web role
// and its worker role. The load generator and the simulators run here.

const SECRET = 'bench-signing-secret';
const WEBHOOK_TOKEN = 'bench-webhook-token';
const SECONDS = 15;
/** The storm: notifications of 20 alerts each, one group each. */
const GROUPS = 500;

const rows: string[][] = [];
const row = (...cells: string[]) => rows.push(cells);

describe('benchmarks', () => {
  let dir: string;
  let cluster: TestCluster;
  let kubeconfig: string;
  let policyFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'azora-bench-'));
    cluster = await startTestCluster();
    kubeconfig = path.join(dir, 'kubeconfig');
    await cluster.sim.writeKubeconfig(kubeconfig);
    // The shipped policy, with the load generator's user allowed in production and its rate
    // limits out of the way: the figures are of the paths that do the work, not of refusals.
    policyFile = path.join(dir, 'policy.yaml');
    const shipped = await readFile(defaultPolicyPath(), 'utf8');
    await writeFile(
      policyFile,
      shipped
        .replace('view: [S0ENGINEERS]', 'view: [S0ENGINEERS, U0ENGINEER]')
        .replace('request: [S0SREGROUP]', 'request: [S0SREGROUP, U0ENGINEER]')
        .replace('commandsPerMinute: 20', 'commandsPerMinute: 1000000')
        .replace('changesPerMinute: 5', 'changesPerMinute: 1000000'),
    );
  });
  afterAll(async () => {
    await cluster.sim.stop();
    await rm(dir, { recursive: true, force: true });
    process.stdout.write(
      `\n${table(['measure', 'figure', 'baseline (same run)', 'ratio', 'target'], rows)}\n`,
    );
  });

  /** The bot's roles as processes on a fresh prefix, talking to simulated Slack and the simulated cluster. */
  async function startBot(roles: ('web' | 'worker')[], slackOptions: SimulatedSlackOptions = {}) {
    const slack = await new SimulatedSlack(slackOptions).start();
    const prefix = uniquePrefix();
    const env = {
      REDIS_PREFIX: prefix,
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
      KUBECONFIG: kubeconfig,
      AZORA_POLICY: policyFile,
    };
    // BENCH_CPU_PROF=<dir>: each of the bot's processes writes a V8 CPU profile there when it stops.
    const profile = process.env.BENCH_CPU_PROF;
    const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
    const started = await Promise.allSettled(roles.map((role) => runRole(role, env, nodeArgs)));
    const processes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(processes.map((p) => p.stop()));
      await slack.stop();
      throw failed.reason;
    }
    return {
      slack,
      processes,
      web: processes[roles.indexOf('web')]!,
      worker: processes[roles.indexOf('worker')],
      async stop() {
        await Promise.all(processes.map((p) => p.stop()));
        await slack.stop();
        await dropPrefix(prefix);
      },
    };
  }

  it('1. slash-command ack latency against a bare Bolt app', async () => {
    // Web roles alone: in production the queued work runs in worker pods elsewhere. One web
    // process per command, so each process takes the same rate as the bare app.
    const bot = await startBot(['web', 'web']);
    const bare = await startBareBolt(SECRET);
    const [statusWeb, rollbackWeb] = bot.processes as [RunningRole, RunningRole];
    const sends = [
      slash(bare.url, SECRET, 'status production'),
      slash(statusWeb.url, SECRET, 'status production'),
      slash(rollbackWeb.url, SECRET, 'rollback production payment'),
    ];
    const names = ['status', 'rollback production'];
    try {
      row(
        'resident memory, idle, web',
        mb(rssBytes(statusWeb.pid)),
        `bare Bolt: ${mb(rssBytes(bare.pid))}`,
        '',
        '',
      );
      for (const rate of [100, 200]) {
        await fixedRateEach(rate, 1, sends);
        // All three at once, so a noisy second on this machine falls on all three alike.
        const { result, steal } = await measureSteal(() => fixedRateEach(rate, SECONDS, sends));
        const [floor, ...bot] = result as [number[], ...number[][]];
        for (const [i, name] of names.entries()) {
          for (const p of [50, 99]) {
            const value = percentile(bot[i]!, p);
            const base = percentile(floor, p);
            row(
              `ack p${p} ${name} @${rate}/s`,
              ms(value),
              `bare Bolt: ${ms(base)}`,
              ratio(value, base),
              p === 99 ? '≤ 1.3×' : '',
            );
          }
        }
        row(`CPU stolen by the host during @${rate}/s`, steal, '', '', '');
      }
    } finally {
      await bare.stop();
      await bot.stop();
    }
  });

  it('3. approval click → first Kubernetes API call', async () => {
    const floor = await bullmqPickUpLatency();
    const bot = await startBot(['web', 'worker']);
    // The simulated cluster records each request as it answers it: hooked to time the first one.
    const requests = cluster.sim.requests as RecordedRequest[];
    const push = requests.push.bind(requests);
    let firstCallAt = 0;
    requests.push = (...items: RecordedRequest[]) => {
      firstCallAt ||= performance.now();
      return push(...items);
    };
    const latencies: number[] = [];
    try {
      for (const [i, service] of [
        'payment',
        'auth',
        'education',
        'api-gateway',
        'payment',
        'auth',
      ].entries()) {
        const text = `switch production ${i < 4 ? 'green' : 'blue'} ${service}`;
        await sendSlashCommand(bot.web.url, SECRET, { text, user: 'U0ENGINEER' });
        const message = await waitFor(
          () => bot.slack.messages.find((m) => m.text.includes(`${text}\``) && m.text.includes('waiting')),
          (m) => m !== undefined,
          { what: `the request for ${text}` },
        );
        const id = /Request `(r[0-9a-f]{8})`/.exec(JSON.stringify(message!.blocks))![1]!;
        // Let the planning job's own cluster reads finish before the clock starts.
        await new Promise((r) => setTimeout(r, 200));
        firstCallAt = 0;
        const t0 = performance.now();
        await sendButtonClick(bot.web.url, SECRET, {
          user: 'U0APPROVER1',
          actionId: actionId('approve', id),
          value: id,
        });
        await waitFor(
          () => firstCallAt,
          (v) => v > 0,
          { intervalMs: 1, what: 'the first API call' },
        );
        latencies.push(firstCallAt - t0);
        await waitFor(
          () =>
            bot.slack.messages.some(
              (m) => m.text.startsWith(':large_green_circle: succeeded') && m.ts > message!.ts,
            ),
          Boolean,
          { what: `${text} to succeed` },
        );
      }
    } finally {
      requests.push = push;
      await bot.stop();
    }
    const p50 = percentile(latencies, 50);
    row(
      'approval → first API call p50',
      ms(p50),
      `BullMQ add → processor: ${ms(floor)}`,
      ratio(p50, floor),
      '≤ 50 ms',
    );
  });

  let webhookFloor: { p50: number; p99: number } | undefined;
  let webhookCpuFloor: number | undefined;

  it('2a. webhook latency with the web role alone (no worker on these cores), against a bare Bolt app', async () => {
    const bot = await startBot(['web']);
    const bare = await startBareBolt(SECRET);
    try {
      // Both take the same storm at once: the bare app only parses each notification.
      let cpuAtStart = [0, 0];
      const { result, steal } = await measureSteal(() =>
        webhookStorm(
          [bare.url, bot.web.url],
          GROUPS,
          () => (cpuAtStart = [cpuMs(bare.pid), cpuMs(bot.web.pid)]),
        ),
      );
      const [bareCpu, webCpu] = [cpuMs(bare.pid) - cpuAtStart[0]!, cpuMs(bot.web.pid) - cpuAtStart[1]!];
      webhookCpuFloor = bareCpu / GROUPS;
      const [floor, latencies] = result.latencies as [number[], number[]];
      webhookFloor = { p50: percentile(floor, 50), p99: percentile(floor, 99) };
      for (const p of [50, 99] as const) {
        const value = percentile(latencies, p);
        const base = webhookFloor[`p${p}`];
        row(
          `webhook p${p} @200/s, web role alone`,
          ms(value),
          `bare Bolt: ${ms(base)}`,
          ratio(value, base),
          p === 99 ? '≤ 25 ms' : '',
        );
      }
      row(
        'CPU per notification, web role',
        ms(webCpu / GROUPS),
        `bare Bolt: ${ms(webhookCpuFloor)}`,
        ratio(webCpu, bareCpu),
        '',
      );
      row('CPU stolen by the host during it', steal, '', '', '');
    } finally {
      await bare.stop();
      await bot.stop();
    }
  });

  it('2 & 4. webhook latency, a storm of 10,000 alerts in 500 groups, and memory', async () => {
    // Like Slack, this one answers 429 to a second call into a channel within a second.
    const bot = await startBot(['web', 'worker'], { minChannelGapMs: 1000 });
    const worker = bot.worker!;
    const bare = await startBareBolt(SECRET);
    try {
      const idle = { web: rssBytes(bot.web.pid), worker: rssBytes(worker.pid), bare: rssBytes(bare.pid) };
      const groups = GROUPS;
      let cpuAtStart = [0, 0];
      const { result, steal } = await measureSteal(() =>
        webhookStorm([bot.web.url], groups, () => (cpuAtStart = [cpuMs(bot.web.pid), cpuMs(worker.pid)])),
      );
      const [latencies] = result.latencies as [number[]];
      const t0 = result.startedAt;
      const threads = () =>
        bot.slack.messages.filter((m) => m.text.startsWith(':red_circle: FIRING:20 *AzoraHighCPU*'));
      const digested = () =>
        Math.max(
          0,
          ...bot.slack.messages.map((m) => Number(/(\d+) groups in this channel/.exec(m.text)?.[1] ?? 0)),
        );
      await waitFor(
        () => threads().length + digested(),
        (total) => total >= groups,
        { timeoutMs: 120_000, intervalMs: 50, what: 'every group in a thread or the digest' },
      );
      const drained = performance.now() - t0;
      const workerCpu = cpuMs(worker.pid) - cpuAtStart[1]!;
      const webCpu = cpuMs(bot.web.pid) - cpuAtStart[0]!;
      const writes = bot.slack.calls.filter(
        (c) => c.method.startsWith('chat.') && c.args.channel === 'C0ALERTS',
      );
      const minimum = threads().length + 1;
      for (const p of [50, 99] as const) {
        const value = percentile(latencies, p);
        const base = webhookFloor?.[`p${p}`];
        row(
          `webhook p${p} @200/s (20 alerts each)`,
          ms(value),
          base === undefined ? '' : `bare Bolt (2a): ${ms(base)}`,
          base === undefined ? '' : ratio(value, base),
          p === 99 ? '≤ 25 ms' : '',
        );
      }
      row('CPU stolen by the host during the storm', steal, '', '', '');
      row(
        'alerts lost of 10,000 (500 groups)',
        String((groups - threads().length - digested()) * 20),
        '',
        '',
        '0',
      );
      row(
        'Slack calls into the channel',
        String(writes.length),
        `threads + digest: ${minimum}`,
        ratio(writes.length, minimum),
        '',
      );
      row(
        'largest burst per channel (calls in 1 s)',
        String(largestBurst(writes.map((c) => c.at))),
        '1',
        '',
        '≤ 1',
      );
      row(
        '429 answers from Slack',
        String(bot.slack.calls.filter((c) => c.status === 429).length),
        '',
        '',
        '0',
      );
      row('time to drain the storm', `${(drained / 1000).toFixed(1)} s`, '', '', '');
      row(
        'CPU per notification, web + worker',
        `${ms(webCpu / groups)} + ${ms(workerCpu / groups)}`,
        webhookCpuFloor === undefined ? '' : `bare Bolt (2a): ${ms(webhookCpuFloor)}`,
        webhookCpuFloor === undefined ? '' : ratio((webCpu + workerCpu) / groups, webhookCpuFloor),
        '',
      );
      for (const [role, pid, base] of [
        ['web', bot.web.pid, `idle: ${mb(idle.web)}; bare Bolt idle: ${mb(idle.bare)}`],
        ['worker', worker.pid, `idle: ${mb(idle.worker)}`],
      ] as const) {
        const after = rssBytes(pid);
        row(
          `resident memory after the storm, ${role}`,
          mb(after),
          base,
          ratio(after, role === 'web' ? idle.web : idle.worker),
          '≤ 150 MB',
        );
      }
    } finally {
      await bare.stop();
      await bot.stop();
    }
  });
});

/**
 * `groups` Alertmanager notifications of 20 alerts each at 200/s into each of `urls` at
 * once, timed; before them, a second of one repeated notification (one thread, the rest
 * duplicates), so the storm meets compiled code, as it would in a process that has been up
 * a while.
 */
async function webhookStorm(
  urls: string[],
  groups: number,
  onStart: () => void = () => undefined,
): Promise<{ latencies: number[][]; startedAt: number }> {
  const notify = (url: string, body: string) =>
    fetch(`${url}/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}` },
      body,
    }).then((r) => {
      if (r.status !== 202) throw new Error(`webhook answered ${r.status}`);
    });
  const warmUp = stormNotification(0, 'AzoraBenchWarmUp', 'critical');
  await fixedRateEach(
    200,
    1,
    urls.map((url) => () => notify(url, warmUp)),
  );
  const storms = urls.map((url) => {
    let n = 0;
    return () => notify(url, stormNotification(n++));
  });
  onStart();
  const startedAt = performance.now();
  const latencies = await fixedRateEach(200, groups / 200, storms);
  return { latencies, startedAt };
}

/** How long BullMQ alone takes from `add` to a processor starting, on this Redis: the floor for 3. */
async function bullmqPickUpLatency(): Promise<number> {
  const prefix = uniquePrefix();
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('bench', { connection, prefix });
  const started = new Map<string, number>();
  const worker = new Worker('bench', async (job) => void started.set(job.id!, performance.now()), {
    connection,
    prefix,
  });
  await worker.waitUntilReady();
  const latencies: number[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const job = await queue.add('noop', {}, { jobId: `j${i}-x` });
      const at = await waitFor(
        () => started.get(job.id!),
        (v) => v !== undefined,
        { intervalMs: 1 },
      );
      latencies.push(at! - t0);
    }
  } finally {
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    await connection.quit();
  }
  return percentile(latencies, 50);
}
