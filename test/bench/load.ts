import { fork } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import type { LoadPlan, LoadResult, StormGroups } from './load-process';
import { ready } from './rig';

export type { LoadPlan, LoadResult, StormGroups, Target } from './load-process';

/**
 * The load generator (load-process.ts) as a process of its own: this side only says what
 * to send and collects the latencies it measured, so timing never waits on the Jest
 * process's event loop (the simulators run there).
 */
export interface LoadGenerator {
  pid: number;
  run(plan: LoadPlan): Promise<LoadResult>;
  /** The body it sends for group `i` (the same bytes), for a baseline that needs the payload. */
  notification(groups: StormGroups, i: number): Promise<string>;
  stop(): Promise<void>;
}

export async function startLoadGenerator(): Promise<LoadGenerator> {
  const child = fork(path.join(__dirname, 'load-process.ts'), [], {
    // Not Jest's flags. Node strips the file's types itself, and parses it as an ES module
    // after trying CommonJS (the package has no "type"), which it would warn about.
    execArgv: ['--disable-warning=MODULE_TYPELESS_PACKAGE_JSON'],
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  await ready(child, exited, 'the load generator');
  const ask = <T>(message: object, answer: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: { type: string; result?: T; body?: T }) => {
        if (m.type !== answer) return;
        child.off('message', onMessage);
        resolve((m.result ?? m.body)!);
      };
      child.on('message', onMessage);
      void exited.then(() => reject(new Error('the load generator exited')));
      child.send(message);
    });
  return {
    pid: child.pid!,
    run: (plan) => ask<LoadResult>({ type: 'run', plan }, 'done'),
    notification: (groups, i) => ask<string>({ type: 'notification', groups, i }, 'notification'),
    async stop() {
      if (child.connected) child.disconnect();
      await exited;
    },
  };
}

/** Fails when any request of a run got an answer other than the expected one: its figures would mean nothing. */
export function checked(result: LoadResult, what: string): LoadResult {
  const errors = result.errors.reduce((a, b) => a + b, 0);
  if (errors > 0) throw new Error(`${what}: ${errors} requests failed, the first: ${result.firstError}`);
  return result;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export const ms = (value: number): string => `${value.toFixed(1)} ms`;
