import { createHash } from 'node:crypto';
import type { RedisClient } from '../kernel/redis';
import { keys, type Keys } from '../kernel/keys';
import { runScript } from '../kernel/script';

/** Slack retries and replays within its 5-minute signature window; remember deliveries that long. */
export const REPLAY_WINDOW_MS = 5 * 60_000;
const MINUTE = 60_000;

export type RateLimit = 'commands' | 'changes';

export type GateVerdict =
  | { ok: true }
  | { ok: false; replay: true }
  | { ok: false; replay: false; limit: RateLimit; retryInMs: number };

/**
 * A delivery seen before (by its id) is a replay and changes nothing; otherwise each named
 * per-user counter (a fixed one-minute window) is counted, and the first one over its
 * maximum refuses. One script, one round trip on the ack path.
 * KEYS: the delivery's key, then one counter per limit. ARGV: replay ttl, then each maximum.
 */
const ADMIT = `
if not redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then return {1} end
for i = 2, #KEYS do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('PEXPIRE', KEYS[i], ${MINUTE}) end
  if n > tonumber(ARGV[i]) then return {2, i - 1, redis.call('PTTL', KEYS[i])} end
end
return {0}
`;

/**
 * A follow slot per running `logs … follow`, held until its end (plus a margin), so a
 * crashed worker's slot lapses by itself. KEYS: the user's slots. ARGV: now, slot id,
 * until, maximum. Returns 0, or the ms until the earliest slot lapses.
 */
const RESERVE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(first[2]) - tonumber(ARGV[1]))
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
local ttl = tonumber(ARGV[3]) - tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 0
`;

/** Replays, per-user rate limits and follow slots, in Redis so every web process shares them. */
export class RequestGate {
  private readonly keys: Keys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = keys(prefix);
  }

  /** `delivery` names what Slack sent (user and trigger id, or user, action and action_ts). */
  async admit(
    delivery: string,
    user: string,
    limits: ReadonlyArray<{ name: RateLimit; perMinute: number }>,
  ): Promise<GateVerdict> {
    const digest = createHash('sha256').update(delivery).digest('base64url').slice(0, 22);
    const result = (await runScript(
      this.redis,
      ADMIT,
      1 + limits.length,
      this.keys.seen(digest),
      ...limits.map((l) => this.keys.rate(l.name, user)),
      String(REPLAY_WINDOW_MS),
      ...limits.map((l) => String(l.perMinute)),
    )) as number[];
    if (result[0] === 1) return { ok: false, replay: true };
    if (result[0] === 2) {
      const limit = limits[(result[1] ?? 1) - 1]!.name;
      return { ok: false, replay: false, limit, retryInMs: Math.max(1_000, result[2] ?? MINUTE) };
    }
    return { ok: true };
  }

  /** Takes one of the user's `max` follow slots until `until`; else how long until one frees. */
  async reserveFollow(user: string, slot: string, now: number, until: number, max: number): Promise<number> {
    return (await runScript(
      this.redis,
      RESERVE,
      1,
      this.keys.follows(user),
      String(now),
      slot,
      String(until),
      String(max),
    )) as number;
  }

  async releaseFollow(user: string, slot: string): Promise<void> {
    await this.redis.zrem(this.keys.follows(user), slot);
  }
}
