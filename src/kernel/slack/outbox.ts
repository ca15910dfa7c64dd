import { systemClock, type Clock } from '../clock';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { RedisClient } from '../redis';
import { fitForSlack, type SlackMessage } from './blocks';
import { rateLimitedFor } from './errors';
import { runScript } from '../script';

/** The gate of Slack's per-workspace limit on chat.update, beside the channels' own. */
const UPDATE_GATE = '@chat.update';
/** Tier 3, 50 calls a minute: edits anywhere in the workspace this far apart stay under it. */
const DEFAULT_UPDATE_GAP_MS = 1_250;

/**
 * Takes the next message due in a channel, if the channel's pacing gate is open and no
 * other sender holds that message: pops it, marks it in flight (with a lease, so a crashed
 * sender's message comes back), and closes the gate for `gap`. An edit (the message has a
 * ts) also takes the workspace's chat.update turn: Slack limits that method across every
 * channel (tier 3), so while it is closed the channel waits for it.
 * KEYS: channels, due:<channel>, inflight. ARGV: channel, now, gap, lease, lockPrefix,
 * msgPrefix, updateGap.
 */
const CLAIM = `
local gate = redis.call('ZSCORE', KEYS[1], ARGV[1])
local now = tonumber(ARGV[2])
if gate and tonumber(gate) > now then return false end
local first = redis.call('ZRANGE', KEYS[2], 0, 0)
if #first == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return false
end
local key = first[1]
local edit = redis.call('HEXISTS', ARGV[6] .. key, 'ts') == 1
if edit then
  local turn = redis.call('ZSCORE', KEYS[1], '${UPDATE_GATE}')
  if turn and tonumber(turn) > now then
    redis.call('ZADD', KEYS[1], turn, ARGV[1])
    return false
  end
end
if redis.call('SET', ARGV[5] .. key, '1', 'NX', 'PX', ARGV[4]) == false then
  redis.call('ZADD', KEYS[1], now + 100, ARGV[1])
  return false
end
if edit then redis.call('ZADD', KEYS[1], now + tonumber(ARGV[7]), '${UPDATE_GATE}') end
redis.call('ZREM', KEYS[2], key)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[1] .. '|' .. key)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
return key
`;

/**
 * A call that must answer now (create a channel, pin, invite) takes its turn at the gates
 * the queued messages use: all open → each closed for its gap, and 0; else how long until
 * the last of them opens. KEYS: channels. ARGV: now, then gate and gap pairs.
 */
const TAKE_TURN = `
local now = tonumber(ARGV[1])
local wait = 0
for i = 2, #ARGV, 2 do
  local gate = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if gate and tonumber(gate) - now > wait then wait = tonumber(gate) - now end
end
if wait > 0 then return wait end
for i = 2, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[i + 1]), ARGV[i])
end
return 0
`;

/** A paced call waits this long at most for its turn; longer, it fails and its job retries later. */
const MAX_TURN_WAIT_MS = 60_000;

export interface OutboxOptions {
  /** Minimum time between two calls that write to one channel. */
  gapMs: number;
  /** Minimum time between two chat.update calls anywhere in the workspace (0: not paced). */
  updateGapMs?: number;
  leaseMs?: number;
  pollMs?: number;
  maxAttempts?: number;
  clock?: Clock;
  /** How a paced call waits for its turn; tests move their clock instead. */
  wait?: (ms: number) => Promise<unknown>;
}

/**
 * Everything the bot writes to Slack channels goes through here, so that no channel ever
 * gets more than one call per `gapMs`, however many processes send:
 * - a managed message (`put`) has a desired state in Redis; edits made while it waits are
 *   coalesced into one chat.update;
 * - a thread reply (`reply`) is posted once, after its parent;
 * - a 429 closes the channel for Retry-After and the message waits, so nothing is lost;
 * - a call whose answer is needed at once (`paced`) waits for the same gate.
 */
export class SlackOutbox {
  private timer?: NodeJS.Timeout;
  private pumping?: Promise<void>;
  private readonly lease: number;
  private readonly maxAttempts: number;
  private readonly clock: Clock;
  private readonly wait: (ms: number) => Promise<unknown>;
  private readonly updateGap: number;
  private readonly renderers = new Map<string, (id: string) => Promise<SlackMessage | undefined>>();

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly client: WebClient,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly options: OutboxOptions,
  ) {
    this.lease = options.leaseMs ?? 30_000;
    this.maxAttempts = options.maxAttempts ?? 6;
    this.clock = options.clock ?? systemClock;
    this.wait = options.wait ?? ((ms) => sleep(ms));
    this.updateGap = options.updateGapMs ?? DEFAULT_UPDATE_GAP_MS;
  }

  private k = {
    msg: (key: string) => `${this.prefix}:outbox:msg:${key}`,
    due: (channel: string) => `${this.prefix}:outbox:due:${channel}`,
    channels: () => `${this.prefix}:outbox:channels`,
    inflight: () => `${this.prefix}:outbox:inflight`,
    lock: () => `${this.prefix}:outbox:lock:`,
  };

  /** Sets what the managed message `key` should say; it is posted, or edited, in its turn. */
  async put(channel: string, key: string, message: SlackMessage, threadOf?: string): Promise<void> {
    await this.enqueue(channel, key, {
      text: message.text,
      blocks: JSON.stringify(message.blocks),
      ...(threadOf ? { threadOf } : {}),
    });
  }

  /**
   * Like put, for a message drawn from state kept elsewhere (a storm digest): what it says
   * is rendered when it is sent, by the renderer of the source's kind, so a message that
   * changes many times between two turns is drawn once per turn instead of at every change.
   */
  async putRendered(channel: string, key: string, source: { kind: string; id: string }): Promise<void> {
    await this.enqueue(channel, key, { source: `${source.kind}:${source.id}` });
  }

  /** How messages of a kind are drawn (see putRendered); undefined: nothing to show any more. */
  renderWith(kind: string, render: (id: string) => Promise<SlackMessage | undefined>): void {
    this.renderers.set(kind, render);
  }

  private async enqueue(channel: string, key: string, fields: Record<string, string>): Promise<void> {
    await this.redis
      .multi()
      .hset(this.k.msg(key), { channel, ...fields })
      .hincrby(this.k.msg(key), 'rev', 1)
      .pexpire(this.k.msg(key), 30 * 86_400_000)
      .zadd(this.k.due(channel), 'NX', this.clock.now(), key)
      .zadd(this.k.channels(), 'NX', this.clock.now(), channel)
      .exec();
  }

  private async messageOf(stored: Record<string, string>): Promise<SlackMessage | undefined> {
    if (stored.source) {
      const at = stored.source.indexOf(':');
      const kind = stored.source.slice(0, at);
      const render = this.renderers.get(kind);
      if (!render) throw new Error(`no renderer for ${kind} messages in this process`);
      return render(stored.source.slice(at + 1));
    }
    if (!stored.text && !stored.blocks) return undefined;
    return { text: stored.text ?? '', blocks: JSON.parse(stored.blocks ?? '[]') as SlackMessage['blocks'] };
  }

  /**
   * Adds a reply to the thread of `parentKey`. With an `id`, the same reply is added only
   * once however often it is asked for (a retried job).
   */
  async reply(
    channel: string,
    parentKey: string,
    message: SlackMessage,
    id: string = randomUUID(),
  ): Promise<void> {
    const key = `reply:${id}`;
    const created = await this.redis.hsetnx(this.k.msg(key), 'channel', channel);
    if (!created) return;
    await this.put(channel, key, message, parentKey);
  }

  async has(key: string): Promise<boolean> {
    return (await this.redis.exists(this.k.msg(key))) === 1;
  }

  /** Writes not yet made: due in some channel, or in flight. Nothing pending means Slack shows everything asked for. */
  async pending(): Promise<number> {
    const channels = await this.redis.zrange(this.k.channels(), 0, -1);
    const counts = await Promise.all([
      this.redis.zcard(this.k.inflight()),
      ...channels.map((channel) => this.redis.zcard(this.k.due(channel))),
    ]);
    return counts.reduce((a, b) => a + b, 0);
  }

  async tsOf(key: string): Promise<string | undefined> {
    return (await this.redis.hget(this.k.msg(key), 'ts')) ?? undefined;
  }

  /**
   * Makes a Web API call whose answer is needed now in its turn (see gatesOf), after any
   * queued message's gap and any Retry-After Slack asked for. A 429 closes the gates for
   * the Retry-After and the call is made again in its next turn; other errors are thrown.
   */
  async paced<T>(method: string, channel: string | undefined, call: () => Promise<T>): Promise<T> {
    const gates = this.gatesOf(method, channel);
    const giveUpAt = this.clock.now() + MAX_TURN_WAIT_MS;
    for (;;) {
      const wait = Number(
        await runScript(
          this.redis,
          TAKE_TURN,
          1,
          this.k.channels(),
          String(this.clock.now()),
          ...gates.flatMap(([gate, gap]) => [gate, String(gap)]),
        ),
      );
      if (wait > 0) {
        if (this.clock.now() + wait > giveUpAt)
          throw new Error(`Slack asked ${method} to wait longer than ${MAX_TURN_WAIT_MS / 1000} s`);
        await this.wait(wait);
        continue;
      }
      try {
        const answer = await call();
        this.metrics.slackCalls.inc({ method, outcome: 'ok' });
        return answer;
      } catch (err) {
        const retryAfter = rateLimitedFor(err);
        this.metrics.slackCalls.inc({ method, outcome: retryAfter ? 'rate-limited' : 'error' });
        if (retryAfter === undefined) throw err;
        this.logger.info({ method, channel, retryAfter }, 'Slack rate-limited a call; it waits its turn');
        for (const [gate] of gates) await this.closeFor(gate, retryAfter);
      }
    }
  }

  /**
   * For a call made at once, without waiting its turn (see SlackMessenger), that Slack
   * answered 429: its gates close for the Retry-After, so queued messages wait too, and
   * it is made again in its turn, as a paced call.
   */
  async afterRateLimit<T>(
    method: string,
    channel: string,
    retryAfterMs: number,
    call: () => Promise<T>,
  ): Promise<T> {
    for (const [gate] of this.gatesOf(method, channel)) await this.closeFor(gate, retryAfterMs);
    return this.paced(method, channel, call);
  }

  /**
   * The gates a call takes its turn at, each with its gap. Slack limits posting per channel,
   * so chat.* and files.* calls take the channel's; every other method is limited per
   * workspace, so it takes its own; an edit also takes the workspace's chat.update turn.
   */
  private gatesOf(method: string, channel: string | undefined): [string, number][] {
    const gates: [string, number][] =
      channel && /^(chat|files)\./.test(method)
        ? [[channel, this.options.gapMs]]
        : [[`@${method}`, this.options.gapMs]];
    if (method === 'chat.update' && this.updateGap > 0) gates.push([UPDATE_GATE, this.updateGap]);
    return gates;
  }

  /** Sends what is due now, in every channel whose gate is open; returns how many calls it made. */
  async pumpOnce(now = this.clock.now()): Promise<number> {
    await this.recoverLapsed(now);
    const channels = await this.redis.zrangebyscore(this.k.channels(), '-inf', now, 'LIMIT', 0, 50);
    let sent = 0;
    for (const channel of channels) {
      const key = (await runScript(
        this.redis,
        CLAIM,
        3,
        this.k.channels(),
        this.k.due(channel),
        this.k.inflight(),
        channel,
        String(this.clock.now()),
        String(this.options.gapMs),
        String(this.lease),
        this.k.lock(),
        this.k.msg(''),
        String(this.updateGap),
      )) as string | null;
      if (!key) continue;
      sent += 1;
      await this.send(channel, key);
    }
    return sent;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.pollMs ?? 100);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.pumping;
  }

  private async tick(): Promise<void> {
    if (this.pumping) return;
    this.pumping = this.pumpOnce().then(
      () => undefined,
      (err: Error) => this.logger.warn({ err: err.message }, 'slack outbox pump failed; retrying'),
    );
    await this.pumping;
    this.pumping = undefined;
  }

  private async send(channel: string, key: string): Promise<void> {
    const msgKey = this.k.msg(key);
    const done = async () => {
      await this.redis
        .multi()
        .zrem(this.k.inflight(), `${channel}|${key}`)
        .del(`${this.k.lock()}${key}`)
        .exec();
    };
    const stored = await this.redis.hgetall(msgKey);
    // A failure to draw the message is retried like a failed call, but is no Slack call.
    let method = 'render';
    try {
      const drawn = await this.messageOf(stored);
      if (!drawn) return await done();
      const message = fitForSlack(drawn);
      method = stored.ts ? 'chat.update' : 'chat.postMessage';
      if (stored.ts) {
        await this.closeFor(channel, this.options.gapMs);
        if (this.updateGap > 0) await this.closeFor(UPDATE_GATE, this.updateGap);
        await this.client.chat.update({ channel, ts: stored.ts, ...message });
      } else {
        const parentTs = stored.threadOf ? await this.tsOf(stored.threadOf) : undefined;
        if (stored.threadOf && !parentTs) {
          method = 'waiting-for-parent';
          await this.requeue(channel, key, this.clock.now(), 0);
          return done();
        }
        await this.closeFor(channel, this.options.gapMs);
        const result = await this.client.chat.postMessage({
          channel,
          ...message,
          ...(parentTs ? { thread_ts: parentTs } : {}),
        });
        await this.redis.hset(msgKey, 'ts', result.ts!);
      }
      this.metrics.slackCalls.inc({ method, outcome: 'ok' });
      await this.redis.hdel(msgKey, 'attempts');
    } catch (err) {
      const retryAfter = rateLimitedFor(err);
      const attempts = await this.redis.hincrby(msgKey, 'attempts', 1);
      if (method !== 'render')
        this.metrics.slackCalls.inc({ method, outcome: retryAfter ? 'rate-limited' : 'error' });
      if (retryAfter === undefined && attempts >= this.maxAttempts) {
        this.logger.error(
          { channel, key, err: (err as Error).message },
          'slack message given up after retries',
        );
        return done();
      }
      const wait = retryAfter ?? Math.min(30_000, 500 * 2 ** attempts);
      this.logger.warn({ channel, key, wait, err: (err as Error).message }, 'slack call failed; will retry');
      // A rate-limited edit closes the workspace's chat.update turn too: Slack counts it there.
      if (retryAfter !== undefined && method === 'chat.update') await this.closeFor(UPDATE_GATE, retryAfter);
      await this.requeue(channel, key, 0, this.clock.now() + wait);
    }
    await done();
  }

  /**
   * Keeps a gate closed for `ms` from now, never shortening it. Before a call leaves, the
   * claim's gap is counted again from this moment: reading the message and its parent
   * take time, and two calls must not reach Slack closer than the gap.
   */
  private async closeFor(gate: string, ms: number): Promise<void> {
    await this.redis.zadd(this.k.channels(), 'GT', this.clock.now() + ms, gate);
  }

  /** Puts a message back: first in line (score 0) after a failure, or at `score`; the channel reopens at `gate` at the soonest. */
  private async requeue(channel: string, key: string, score: number, gate: number): Promise<void> {
    await this.redis
      .multi()
      .zadd(this.k.due(channel), score, key)
      .zadd(this.k.channels(), 'GT', gate || this.clock.now() + 50, channel)
      .exec();
  }

  /** Messages whose sender died mid-call go back to their channel's queue. */
  private async recoverLapsed(now: number): Promise<void> {
    const lapsed = await this.redis.zrangebyscore(this.k.inflight(), '-inf', now, 'LIMIT', 0, 100);
    for (const entry of lapsed) {
      const [channel, key] = [entry.slice(0, entry.indexOf('|')), entry.slice(entry.indexOf('|') + 1)];
      if ((await this.redis.zrem(this.k.inflight(), entry)) === 1) await this.requeue(channel, key, 0, now);
    }
  }
}
