/**
 * Sends `perSecond` requests a second for `seconds` into each target, at fixed intervals
 * (open loop), and times each. At every tick one request goes to each target, in an order
 * that rotates, so every target meets the same moments of a noisy machine and none is
 * always first. Returns each target's latencies.
 */
export async function fixedRateEach(
  perSecond: number,
  seconds: number,
  sends: (() => Promise<unknown>)[],
): Promise<number[][]> {
  const total = perSecond * seconds;
  const interval = 1000 / perSecond;
  const started = performance.now();
  const latencies: Promise<number>[][] = sends.map(() => []);
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (let k = 0; k < sends.length; k++) {
      const target = (i + k) % sends.length;
      const t0 = performance.now();
      latencies[target]!.push(sends[target]!().then(() => performance.now() - t0));
    }
  }
  return Promise.all(latencies.map((l) => Promise.all(l)));
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export const ms = (value: number): string => `${value.toFixed(1)} ms`;
