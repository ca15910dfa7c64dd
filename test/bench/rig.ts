import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { IMAGE_NODE_OPTIONS, type RunningRole } from '../kit/process';
import { freePort } from '../kit/redis-server';
import { signedHeaders, slashCommandBody } from '../kit/slack-requests';

/**
 * Bolt alone, in a process of its own with the same Node flags as the bot, answering
 * `/azora` at once: the framework's floor.
 */
export async function startBareBolt(secret: string): Promise<RunningRole> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(__dirname, 'bare-bolt.js')], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      SLACK_SIGNING_SECRET: secret,
      NODE_OPTIONS: IMAGE_NODE_OPTIONS,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    void exited.then(() => reject(new Error('the bare Bolt app exited while starting')));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Resident memory of a process, as the kernel counts it (what a container limit counts). */
export function rssBytes(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

/** CPU time a process has used so far (user + system), in ms, as the kernel counts it. */
export function cpuMs(pid: number): number {
  // The fields after the command name, which is in parentheses and may hold spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

// USER_HZ: 100 on every Linux build this runs on (sysconf(_SC_CLK_TCK)).
const CLOCK_TICKS_PER_SECOND = 100;

/** One signed slash command; signed fresh each time, as Slack does. */
export const slash = (url: string, secret: string, text: string) => () => {
  const body = slashCommandBody({ text, user: 'U0ENGINEER', responseUrl: 'http://127.0.0.1:9/discard' });
  return fetch(`${url}/slack/events`, { method: 'POST', headers: signedHeaders(body, secret), body }).then(
    (r) => {
      if (r.status !== 200) throw new Error(`slash command answered ${r.status}`);
      return r.text();
    },
  );
};

/**
 * Alertmanager's notification for group `i` of the storm: 20 firing alerts of one service.
 * The warm-up's is critical (another channel) and named apart, so it is not counted.
 */
export function stormNotification(i: number, alertname = 'AzoraHighCPU', severity = 'warning'): string {
  const service = `svc-${i}`;
  const common = { alertname, severity, namespace: 'azora-production', service };
  return JSON.stringify({
    version: '4',
    groupKey: `{}:{alertname="${alertname}", service="${service}"}`,
    status: 'firing',
    receiver: 'azora',
    groupLabels: { alertname, service },
    commonLabels: common,
    commonAnnotations: { summary: `CPU above 70% on ${service}` },
    alerts: Array.from({ length: 20 }, (_, k) => ({
      status: 'firing',
      labels: { ...common, pod: `pod-${k}` },
      annotations: { summary: `CPU above 70% on ${service}` },
      startsAt: new Date().toISOString(),
      fingerprint: `${i.toString(16).padStart(8, '0')}${k.toString(16).padStart(8, '0')}`,
    })),
  });
}

/** The most calls that fell within any one second. */
export function largestBurst(times: number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let largest = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= windowMs) j++;
    largest = Math.max(largest, i - j + 1);
  }
  return largest;
}

export const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MB`;
export const ratio = (value: number, base: number): string => `${(value / base).toFixed(2)}×`;

export function table(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (c ?? '').padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/**
 * The share of CPU time the hypervisor gave to other machines while `run` ran. Shared
 * machines steal a lot at times; a figure measured then says more about the host than the bot.
 */
export async function measureSteal<T>(run: () => Promise<T>): Promise<{ result: T; steal: string }> {
  const sample = () => {
    const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
    const ticks = fields.map(Number);
    return { total: ticks.reduce((a, b) => a + b, 0), steal: ticks[7] ?? 0 };
  };
  const before = sample();
  const result = await run();
  const after = sample();
  const share = (after.steal - before.steal) / Math.max(1, after.total - before.total);
  return { result, steal: `${(share * 100).toFixed(0)}%` };
}
