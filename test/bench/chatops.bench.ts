import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { actionId } from '../../src/domain/actions';
import { startTestBot, type TestBot } from '../kit/bot';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import { runBot } from '../kit/process';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';
import { freePort } from '../kit/redis-server';
import { sendButtonClick, sendSlashCommand, signedHeaders, slashCommandBody } from '../kit/slack-requests';
import { waitFor } from '../kit/wait';
import type { RecordedRequest } from '../../src/sandbox/cluster/server';
import { SimulatedSlack } from '../../src/sandbox/slack-api';
import { fixedRate, ms, percentile } from './load';

const rows: string[][] = [];
const row = (...cells: string[]) => rows.push(cells);
const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}×`;

async function bareBolt(secret: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const receiver = new HTTPReceiver({ signingSecret: secret, logLevel: LogLevel.ERROR });
  const app = new App({
    token: 'xoxb-bench',
    botId: 'B0',
    botUserId: 'U0',
    receiver,
    logLevel: LogLevel.ERROR,
  });
  app.command('/azora', async ({ ack }) => ack({ response_type: 'ephemeral', text: 'ok' }));
  const server = (await app.start(0)) as Server;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => app.stop().then(() => undefined),
  };
}

/** One signed slash command; the body is signed fresh, as Slack would. */
const slash = (url: string, secret: string, text: string, user: string) => () => {
  const body = slashCommandBody({ text, user, responseUrl: 'http://127.0.0.1:9/discard' });
  return fetch(`${url}/slack/events`, { method: 'POST', headers: signedHeaders(body, secret), body }).then(
    (r) => r.text(),
  );
};

describe('benchmarks', () => {
  let cluster: TestCluster;
  let bot: TestBot;

  beforeAll(async () => {
    cluster = await startTestCluster();
    bot = await startTestBot({ cluster });
  });
  afterAll(async () => {
    await bot.stop();
    await cluster.sim.stop();
    process.stdout.write(`\n${table(['measure', 'figure', 'baseline', 'ratio', 'target'], rows)}\n`);
  });

  it('1. slash-command ack latency against a bare Bolt app', async () => {
    // The web role alone, as deployed: the queued work is done by worker processes, not here.
    const web = await startTestBot({ cluster, role: 'web' });
    const bare = await bareBolt(web.secret);
    try {
      for (const rate of [100, 200]) {
        const floor = await fixedRate(
          rate,
          3,
          slash(bare.url, bot.secret, 'status production', 'U0ENGINEER'),
        );
        const status = await fixedRate(
          rate,
          3,
          slash(bot.url, bot.secret, 'status production', 'U0ENGINEER'),
        );
        const rollback = await fixedRate(
          rate,
          3,
          slash(bot.url, bot.secret, 'rollback production payment', 'U0ENGINEER'),
        );
        for (const [name, values] of [
          ['status', status],
          ['rollback production', rollback],
        ] as const) {
          row(
            `ack p50 ${name} @${rate}/s`,
            ms(percentile(values, 50)),
            ms(percentile(floor, 50)),
            ratio(percentile(values, 50), percentile(floor, 50)),
            '',
          );
          row(
            `ack p99 ${name} @${rate}/s`,
            ms(percentile(values, 99)),
            ms(percentile(floor, 99)),
            ratio(percentile(values, 99), percentile(floor, 99)),
            '≤ 1.3×',
          );
        }
      }
    } finally {
      await bare.stop();
      await web.stop();
    }
  });

  it('3. approval click → first Kubernetes API call', async () => {
    // The baseline: how long BullMQ alone takes from add to a processor starting, on this Redis.
    const prefix = uniquePrefix();
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('bench', { connection, prefix });
    const started = new Map<string, number>();
    const worker = new Worker('bench', async (job) => void started.set(job.id!, performance.now()), {
      connection,
      prefix,
    });
    await worker.waitUntilReady();
    const bullmq: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const job = await queue.add('noop', {}, { jobId: `j${i}-x` });
      await waitFor(
        () => started.get(job.id!),
        (v) => v !== undefined,
        { intervalMs: 1 },
      );
      bullmq.push(started.get(job.id!)! - t0);
    }
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    await connection.quit();

    // The simulated cluster records each request as it answers it: hook that to time the first one.
    const requests = cluster.sim.requests as RecordedRequest[];
    let firstCallAt = 0;
    const push = requests.push.bind(requests);
    requests.push = (...items: RecordedRequest[]) => {
      firstCallAt ||= performance.now();
      return push(...items);
    };
    const latencies: number[] = [];
    for (const [i, service] of ['payment', 'auth', 'education', 'api-gateway', 'payment', 'auth'].entries()) {
      const colour = i < 4 ? 'green' : 'blue';
      await sendSlashCommand(bot.url, bot.secret, {
        text: `switch production ${colour} ${service}`,
        user: 'U0ENGINEER',
      });
      const message = await waitFor(
        () =>
          bot.slack.messages.find(
            (m) => m.text.includes(`switch production ${colour} ${service}\``) && m.text.includes('waiting'),
          ),
        (m) => m !== undefined,
      );
      const id = /Request `(r[0-9a-f]{8})`/.exec(JSON.stringify(message!.blocks))![1]!;
      await new Promise((r) => setTimeout(r, 200));
      firstCallAt = 0;
      const t0 = performance.now();
      await sendButtonClick(bot.url, bot.secret, {
        user: 'U0APPROVER1',
        actionId: actionId('approve', id),
        value: id,
      });
      await waitFor(
        () => firstCallAt,
        (v) => v > 0,
        { intervalMs: 1 },
      );
      latencies.push(firstCallAt - t0);
      await waitFor(
        () =>
          bot.slack.messages.some(
            (m) => m.text.startsWith(':large_green_circle: succeeded') && m.ts > message!.ts,
          ),
        Boolean,
      );
    }
    requests.push = push;
    row(
      'approval → first API call p50',
      ms(percentile(latencies, 50)),
      ms(percentile(bullmq, 50)),
      ratio(percentile(latencies, 50), percentile(bullmq, 50)),
      '≤ 50 ms',
    );
  });

  it('2 & 4. webhook latency, a storm of 10,000 alerts in 500 groups, and memory', async () => {
    // Like Slack, this one answers 429 to a second call into a channel within a second.
    const slack = await new SimulatedSlack({ minChannelGapMs: 1000 }).start();
    const prefix = uniquePrefix();
    const port = await freePort();
    const token = 'bench-token';
    const kubeconfig = path.join(mkdtempSync(path.join(tmpdir(), 'azora-bench-')), 'config');
    await cluster.sim.writeKubeconfig(kubeconfig);
    const proc = runBot(
      {
        PORT: String(port),
        REDIS_PREFIX: prefix,
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_SIGNING_SECRET: 'bench',
        SLACK_API_URL: slack.apiUrl,
        ALERTMANAGER_WEBHOOK_TOKEN: token,
        KUBECONFIG: kubeconfig,
      },
      ['all'],
    );
    const url = `http://127.0.0.1:${port}`;
    const rss = async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return Number(/^azora_process_resident_memory_bytes (\d+)/m.exec(text)?.[1]);
    };
    try {
      await waitFor(
        () =>
          fetch(`${url}/readyz`).then(
            (r) => r.status,
            () => 0,
          ),
        (s) => s === 200,
        { timeoutMs: 20_000 },
      );
      const idle = await rss();
      const groups = 500;
      let n = 0;
      const t0 = performance.now();
      const latencies = await fixedRate(200, groups / 200, () => {
        const i = n++;
        const alerts = Array.from({ length: 20 }, (_, k) => ({
          status: 'firing',
          labels: {
            alertname: 'AzoraHighCPU',
            severity: 'warning',
            namespace: 'azora-production',
            service: `svc-${i}`,
            pod: `pod-${k}`,
          },
          annotations: { summary: `CPU above 70% on svc-${i}` },
          startsAt: new Date().toISOString(),
          fingerprint: `${i.toString(16).padStart(8, '0')}${k.toString(16).padStart(8, '0')}`,
        }));
        const body = JSON.stringify({
          version: '4',
          groupKey: `{}:{alertname="AzoraHighCPU", service="svc-${i}"}`,
          status: 'firing',
          receiver: 'azora',
          groupLabels: { alertname: 'AzoraHighCPU', service: `svc-${i}` },
          commonLabels: {
            alertname: 'AzoraHighCPU',
            severity: 'warning',
            namespace: 'azora-production',
            service: `svc-${i}`,
          },
          commonAnnotations: { summary: `CPU above 70% on svc-${i}` },
          alerts,
        });
        return fetch(`${url}/alertmanager`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body,
        }).then((r) => {
          if (r.status !== 202) throw new Error(`webhook answered ${r.status}`);
        });
      });
      const parents = () =>
        slack.messages.filter((m) => m.text.startsWith(':red_circle: FIRING:20 *AzoraHighCPU*'));
      const digestCount = () =>
        Math.max(
          0,
          ...slack.messages.map((m) => Number(/(\d+) groups in this channel/.exec(m.text)?.[1] ?? 0)),
        );
      await waitFor(
        () => parents().length + digestCount(),
        (total) => total >= groups,
        { timeoutMs: 120_000, intervalMs: 50 },
      );
      const drained = performance.now() - t0;
      const writes = slack.calls
        .filter((c) => c.method.startsWith('chat.') && c.args.channel === 'C0ALERTS')
        .map((c) => c.at);
      let burst = 0;
      for (const [i, at] of writes.entries())
        burst = Math.max(burst, writes.filter((t) => t >= at && t < at + 1000).length - (i - i));
      const lost = groups - (parents().length + digestCount());
      const after = await rss();
      row('webhook p50 @200/s (20 alerts each)', ms(percentile(latencies, 50)), '', '', '');
      row('webhook p99 @200/s (20 alerts each)', ms(percentile(latencies, 99)), '', '', '≤ 25 ms');
      row('alerts lost of 10,000 (500 groups)', String(lost * 20), '', '', '0');
      row(
        'Slack calls into the channel',
        String(writes.length),
        `${parents().length + 1} (minimum: threads + digest)`,
        ratio(writes.length, parents().length + 1),
        '',
      );
      row(
        'largest burst per channel (calls in 1 s, as received)',
        String(burst),
        '1',
        ratio(burst, 1),
        '≤ 1',
      );
      row('429 answers from Slack', String(slack.calls.filter((c) => c.status === 429).length), '', '', '0');
      row('time to drain the storm', `${(drained / 1000).toFixed(1)} s`, '', '', '');
      row(
        'resident memory after the storm',
        `${(after / 1048576).toFixed(0)} MB`,
        `${(idle / 1048576).toFixed(0)} MB idle`,
        ratio(after, idle),
        '≤ 150 MB',
      );
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
      await slack.stop();
      await dropPrefix(prefix);
    }
  });
});

function table(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
