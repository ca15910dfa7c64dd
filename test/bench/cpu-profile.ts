import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The parts of a V8 .cpuprofile (what `node --cpu-prof` writes) that self time needs. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  /** µs on the monotonic clock, the one process.hrtime reads. */
  startTime: number;
  samples: number[];
  /** µs from the previous sample (the first: from startTime). */
  timeDeltas: number[];
}

/** The profile `--cpu-prof` wrote for the process `pid` into `dir` (its name carries the pid). */
export function profileOf(dir: string, pid: number): string | undefined {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && f.split('.').includes(String(pid)));
  return file ? path.join(dir, file) : undefined;
}

export interface SelfTime {
  fn: string;
  /** Where the function is: its file from the package or the project's folder on, and line. */
  where: string;
  ms: number;
  /** Of the process's busy (non-idle) time within the window. */
  share: number;
}

/** The functions that spent the most time themselves (not in what they called) between `fromUs` and `toUs`. */
export function topSelfTime(file: string, fromUs: number, toUs: number, count = 10): SelfTime[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, { fn: string; where: string; us: number }>();
  let busy = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    // A sample stands for the time until the next one.
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (at < fromUs || at > toUs) continue;
    const frame = frames.get(profile.samples[i]!);
    if (!frame || frame.functionName === '(idle)') continue;
    busy += us;
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName}@${where}`;
    const entry = self.get(key) ?? { fn: frame.functionName || '(anonymous)', where, us: 0 };
    entry.us += us;
    self.set(key, entry);
  }
  return [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, count)
    .map(({ fn, where, us }) => ({ fn, where, ms: us / 1000, share: us / Math.max(1, busy) }));
}

/** The monotonic clock in µs, as V8's profiler stamps samples. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

function shortUrl(url: string): string {
  const file = url.replace(/^file:\/\//, '');
  const modules = file.lastIndexOf('node_modules/');
  if (modules >= 0) return file.slice(modules + 'node_modules/'.length);
  const dist = file.indexOf('/dist/');
  return dist >= 0 ? file.slice(dist + '/dist/'.length) : file;
}
