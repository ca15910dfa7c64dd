import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { IMAGE_ENV, IMAGE_NODE_ARGS, type RunningRole } from '../kit/process';
import { freePort } from '../kit/redis-server';

/**
 * Bolt alone, in a process of its own with the same Node flags as the bot, answering
 * `/azora` at once: the framework's floor. With `redisUrl`, the contract's floor: each
 * answer waits for one Redis command first (see bare-bolt.js).
 */
export async function startBareBolt(secret: string, redisUrl?: string): Promise<RunningRole> {
  const port = await freePort();
  const child = spawn(process.execPath, [...IMAGE_NODE_ARGS, path.join(__dirname, 'bare-bolt.js')], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      SLACK_SIGNING_SECRET: secret,
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
      ...IMAGE_ENV,
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

/** A BullMQ worker alone (bare-bullmq.js), as a process of its own: the worker role's floor. */
export interface BareBullmq {
  pid: number;
  /** Resolves when the processor has started the job with this id. */
  started(jobId: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startBareBullmq(redisUrl: string, prefix: string, queue: string): Promise<BareBullmq> {
  const child = fork(path.join(__dirname, 'bare-bullmq.js'), [], {
    execArgv: IMAGE_NODE_ARGS,
    env: {
      PATH: process.env.PATH,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      QUEUE: queue,
      ...IMAGE_ENV,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  const waiting = new Map<string, () => void>();
  const seen = new Set<string>();
  child.on('message', (m: { type: string; id?: string }) => {
    if (m.type !== 'started' || !m.id) return;
    seen.add(m.id);
    waiting.get(m.id)?.();
  });
  await ready(child, exited, 'the bare BullMQ worker');
  return {
    pid: child.pid!,
    started: (id) =>
      seen.has(id) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(id, resolve)),
    async stop() {
      child.disconnect();
      await exited;
    },
  };
}

/** Waits for a forked child's `{ type: 'ready' }`; fails if it exits first. */
export function ready(child: ChildProcess, exited: Promise<unknown>, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    child.on('message', (m: { type: string }) => m.type === 'ready' && resolve());
    void exited.then(() => reject(new Error(`${what} exited while starting`)));
  });
}

/**
 * A redis-server of the benchmark's own, configured as the shared one is (no persistence):
 * other people's tests on the shared Redis stay out of the figures, and MONITOR sees only
 * the bot.
 */
export interface BenchRedis {
  url: string;
  port: number;
  pid: number;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export async function startBenchRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const exited = once(child, 'exit');
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
  await client.ping();
  return {
    url,
    port,
    pid: child.pid!,
    flush: () => client.flushall().then(() => undefined),
    async stop() {
      client.disconnect();
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
    readFileSync(`/proc/${pid}/status`, 'utf8'),
  )?.[1];
  return Number(kb) * 1024;
}

/** Resident memory of a process, as the kernel counts it (what a container limit counts). */
export const rssBytes = (pid: number): number => statusField(pid, 'VmRSS');

/** The most resident memory the process has had since it started (the kernel's high-water mark). */
export const peakRssBytes = (pid: number): number => statusField(pid, 'VmHWM');

/** A process's /proc/<pid>/stat fields after the command name (which is in parentheses and may hold spaces). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU time a process has used so far (user + system), in ms, as the kernel counts it. */
export function cpuMs(pid: number): number {
  const fields = statFields(pid);
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * CPU time (ms) this process and every process it started, at any depth, have used so far:
 * each one's own time and that of its children that have ended (cutime, cstime), so a
 * child that ends between two readings still counts.
 */
export function familyCpuMs(root = process.pid): number {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      parents.set(Number(entry), Number(statFields(Number(entry))[1]));
    } catch {
      // ended meanwhile
    }
  }
  const family = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (!family.has(parent) || family.has(pid)) continue;
      family.add(pid);
      grew = true;
    }
  }
  let ticks = 0;
  for (const pid of family) {
    try {
      const f = statFields(pid);
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // ended meanwhile: its time is in its parent's cutime once reaped
    }
  }
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

// USER_HZ: 100 on every Linux build this runs on (sysconf(_SC_CLK_TCK)).
const CLOCK_TICKS_PER_SECOND = 100;

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
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export function table(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${widths.map((w, i) => (cells[i] ?? '').padEnd(w)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/** What the host's CPUs did while a section ran, from /proc/stat and the section's own processes. */
export interface HostShare {
  /** The share of CPU time the hypervisor gave to other machines. */
  steal: number;
  /** The share something other than the benchmark's processes used (others' tests on the same cores). */
  others: number;
}

export function hostShare(before: { ticks: number[] }, after: { ticks: number[] }, ownMs: number): HostShare {
  // user nice system idle iowait irq softirq steal; guest time is counted in user already.
  const [user = 0, nice = 0, system = 0, , , , , steal = 0] = after.ticks.map(
    (t, i) => t - (before.ticks[i] ?? 0),
  );
  const total = Math.max(
    1,
    after.ticks.slice(0, 8).reduce((sum, t, i) => sum + t - (before.ticks[i] ?? 0), 0),
  );
  // Interrupt time is left out of busy: it belongs to no process, and the loopback
  // traffic of the benchmark's own processes makes much of it.
  const busyMs = ((user + nice + system) * 1000) / CLOCK_TICKS_PER_SECOND;
  const totalMs = (total * 1000) / CLOCK_TICKS_PER_SECOND;
  return { steal: steal / total, others: Math.max(0, busyMs - ownMs) / totalMs };
}

/** The machine's CPU counters (all CPUs together), as /proc/stat's first line gives them. */
export function cpuTicks(): { ticks: number[] } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  return { ticks: fields.map(Number) };
}

export const share = ({ steal, others }: HostShare): string =>
  `${(steal * 100).toFixed(0)}% / ${(others * 100).toFixed(0)}%`;
