import type { RecordedCall } from '../../sandbox/slack-api';
import { commandLabel, type Seen } from './redis-monitor';

/** Where a Redis command's time goes, by the key it touches (see `label`). */
const CATEGORIES: [RegExp, string][] = [
  [
    /^bullmq |^BZPOPMIN|^(EVALSHA|EVAL|HGETALL|HGET|HMGET|GET|ZADD|XADD) (ops|alerts|notify|logs)(:|$)/,
    'queue (BullMQ)',
  ],
  [/(^| )request(s|-of-job)?:/, 'request store'],
  [/(^| )audit/, 'audit'],
  [/(^| )lock:/, 'lock'],
  [/(^| )(rate|seen|follows):/, 'access gate'],
  [/(^| )(last-scale|releases|baking|maintenance):/, 'guards (cooldown, releases, windows)'],
];

export const categoryOf = (label: string): string =>
  CATEGORIES.find(([pattern]) => pattern.test(label))?.[1] ?? `other Redis (${label})`;

export interface ApprovalTimeline {
  /** Click → the execute job added: per category, ms. */
  web: Map<string, number>;
  webMs: number;
  /** The job added → a worker moving it to active. */
  queueWaitMs: number;
  /** Active → the first Kubernetes API call: per category, ms. */
  worker: Map<string, number>;
  workerMs: number;
  lines: string[];
}

/**
 * Splits one approval (click at `clickAt`, first API call answered at `callAt`, wall-clock
 * ms) by what MONITOR saw the web role (`web` connections) and the worker (`worker`) send
 * in between. The time from one of the approval's own commands to its next is counted to
 * the first one's category: its round trip and whatever ran on its answer before the next.
 */
export function approvalTimeline(
  seen: readonly Seen[],
  slackCalls: readonly RecordedCall[],
  web: ReadonlySet<string>,
  worker: ReadonlySet<string>,
  clickAt: number,
  callAt: number,
): ApprovalTimeline | undefined {
  const within = seen.filter((s) => s.at >= clickAt && s.at <= callAt && s.source !== 'lua');
  const webEvents = within.filter((s) => web.has(s.source));
  const added = webEvents.find((s) => commandLabel(s.args) === 'bullmq addStandardJob');
  if (!added) return undefined;
  const active = within.find(
    (s) => worker.has(s.source) && s.at >= added.at && commandLabel(s.args) === 'bullmq moveToActive',
  );
  if (!active) return undefined;
  const split = (events: readonly Seen[], from: number, to: number, first: string, last?: string) => {
    const spent = new Map<string, number>();
    const add = (category: string, ms: number) => spent.set(category, (spent.get(category) ?? 0) + ms);
    add(first, (events[0]?.at ?? to) - from);
    events.forEach((event, i) =>
      add(
        i === events.length - 1 && last
          ? `${last} (from its ${categoryOf(commandLabel(event.args))} command)`
          : categoryOf(commandLabel(event.args)),
        (events[i + 1]?.at ?? to) - event.at,
      ),
    );
    return spent;
  };
  // The job's own commands: BullMQ's fetching and blocking waits run beside it, for every queue.
  const own = (s: Seen) => !/^(bullmq |BZPOPMIN)/.test(commandLabel(s.args));
  const webPart = webEvents.filter((s) => s.at < added.at && own(s));
  const workerPart = within.filter((s) => worker.has(s.source) && s.at > active.at && own(s));
  const at = (t: number) => `+${(t - clickAt).toFixed(2).padStart(6)} ms`;
  const events = [
    ...within
      .filter((s) => web.has(s.source) || worker.has(s.source))
      .map((s) => ({ t: s.at, line: `${web.has(s.source) ? 'web   ' : 'worker'}  ${commandLabel(s.args)}` })),
    // The simulated Slack stamps calls to the ms; which role made one, it cannot tell.
    ...slackCalls
      .filter((c) => c.at >= Math.floor(clickAt) && c.at <= callAt)
      .map((c) => ({ t: c.at, line: `slack   ${c.method} (ms steps)` })),
    { t: callAt, line: 'cluster the first Kubernetes API call answered' },
  ];
  const lines = events.sort((a, b) => a.t - b.t).map((e) => `${at(e.t)}  ${e.line}`);
  return {
    web: split(webPart, clickAt, added.at, 'HTTP, signature, Bolt (before the first Redis command)'),
    webMs: added.at - clickAt,
    queueWaitMs: active.at - added.at,
    worker: split(
      workerPart,
      active.at,
      callAt,
      'job start → first command',
      'the last Redis round trip, then the code up to the API call answered',
    ),
    workerMs: callAt - active.at,
    lines,
  };
}
