/** Sends `perSecond` requests a second for `seconds`, at fixed intervals (open loop), and times each. */
export async function fixedRate(
  perSecond: number,
  seconds: number,
  send: () => Promise<unknown>,
): Promise<number[]> {
  const total = perSecond * seconds;
  const interval = 1000 / perSecond;
  const started = performance.now();
  const latencies: Promise<number>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t0 = performance.now();
    latencies.push(send().then(() => performance.now() - t0));
  }
  return Promise.all(latencies);
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export const ms = (value: number): string => `${value.toFixed(1)} ms`;
