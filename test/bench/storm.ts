import type { RecordedCall, SimulatedMessage } from '../../sandbox/slack-api';

/** What the simulated Slack shows of a storm's groups, channel by channel. */
export interface StormPicture {
  /** Per channel: the groups with a thread of their own (a parent posted). */
  threads: Map<string, Set<number>>;
  /** Thread parents posted beyond one per group: duplicate threads. */
  duplicateThreads: number;
  /** Per channel: storm digest messages posted (one expected). */
  digests: Map<string, number>;
  /** Per channel: the groups its digests count, as their text says now. */
  digested: Map<string, number>;
}

const STORM_HEAD = ':rotating_light: *Alert storm*';

/**
 * Reads the storm of `alertname` off the simulated Slack's record: thread parents from the
 * accepted chat.postMessage calls (group number from the service, `svc-<i>`), digests from
 * the messages as they read now.
 */
export function stormPicture(
  calls: readonly RecordedCall[],
  messages: readonly SimulatedMessage[],
  alertname: string,
): StormPicture {
  const threads = new Map<string, Set<number>>();
  const digests = new Map<string, number>();
  let parents = 0;
  for (const call of calls) {
    if (call.method !== 'chat.postMessage' || call.status !== 200 || call.args.thread_ts) continue;
    const channel = String(call.args.channel);
    const text = String(call.args.text ?? '');
    if (text.startsWith(STORM_HEAD)) digests.set(channel, (digests.get(channel) ?? 0) + 1);
    if (!text.startsWith(':red_circle: FIRING') || !text.includes(`*${alertname}*`)) continue;
    const group = Number(/\bsvc-(\d+)\b/.exec(text)?.[1]);
    parents += 1;
    threads.set(channel, (threads.get(channel) ?? new Set()).add(group));
  }
  const digested = new Map<string, number>();
  for (const message of messages) {
    if (!message.text.startsWith(STORM_HEAD)) continue;
    const count = Number(/(\d+) groups in this channel/.exec(message.text)?.[1] ?? 0);
    digested.set(message.channel, (digested.get(message.channel) ?? 0) + count);
  }
  const distinct = [...threads.values()].reduce((n, groups) => n + groups.size, 0);
  return { threads, duplicateThreads: parents - distinct, digests, digested };
}

/** Groups shown per channel (a thread or a digest line) and those missing, against how many each channel should get. */
export function shownAndLost(picture: StormPicture, expected: ReadonlyMap<string, number>) {
  let shown = 0;
  let lost = 0;
  for (const [channel, groups] of expected) {
    const here = (picture.threads.get(channel)?.size ?? 0) + (picture.digested.get(channel) ?? 0);
    shown += here;
    lost += Math.max(0, groups - here);
  }
  return { shown, lost };
}

/**
 * The soonest the storm can be drained under Slack's limits as simulated: Slack takes one
 * write per channel per `gapMs` (chat.postMessage's special tier), so a channel needs at
 * least (threads + its one digest) × gap; channels go in parallel; and nothing can show
 * before the last notification has arrived. The minimum needs no chat.update (the digest
 * can be posted once, complete), so chat.update's Tier 3 limit (50 a minute per
 * workspace) adds nothing to it.
 */
export function drainBound(picture: StormPicture, deliverySpanMs: number, gapMs: number) {
  const channels = new Set([...picture.threads.keys(), ...picture.digested.keys()]);
  let slowest = 0;
  for (const channel of channels) {
    const writes =
      (picture.threads.get(channel)?.size ?? 0) + ((picture.digested.get(channel) ?? 0) > 0 ? 1 : 0);
    slowest = Math.max(slowest, writes * gapMs);
  }
  return { ms: Math.max(deliverySpanMs, slowest), deliverySpanMs, slowestChannelMs: slowest };
}
