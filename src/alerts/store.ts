import {
  applyNotification,
  channelFor,
  groupIdOf,
  severityOf,
  type AlertChange,
  type AlertGroup,
  type DigestView,
} from './domain/group';
import type { Notification } from './domain/payload';
import type { Policy } from '../config/policy';
import type { RedisClient } from '../kernel/redis';
import { snapshotOf, VersionedStore } from '../kernel/versioned';
import { runScript } from '../kernel/script';

const RETENTION_MS = 14 * 86_400_000;
const STORM_WINDOW_MS = 60_000;

/**
 * A group's stored document, or, for a group not stored yet, the storm digest it belongs
 * in (false when none), in one round trip. A new group's place (how many groups opened in
 * the channel in the window before it) is fixed the first time it is asked, atomically, so
 * simultaneous groups get distinct places; from `threshold` on, every group of the storm
 * shares one digest id, the first one proposed.
 * KEYS: the group, opened-at zset, places hash, the channel's current digest.
 * ARGV: group id, now, window, threshold, proposed digest id.
 */
const READ_OR_PLACE = `
local raw = redis.call('GET', KEYS[1])
if raw then return {raw, false} end
local window = tonumber(ARGV[3])
local earlier = tonumber(redis.call('HGET', KEYS[3], ARGV[1]))
if not earlier then
  local now = tonumber(ARGV[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  earlier = redis.call('ZCARD', KEYS[2])
  redis.call('ZADD', KEYS[2], now, ARGV[1])
  redis.call('HSET', KEYS[3], ARGV[1], earlier)
  redis.call('PEXPIRE', KEYS[2], window * 2)
  redis.call('PEXPIRE', KEYS[3], window * 2)
end
if earlier < tonumber(ARGV[4]) then return {false, false} end
redis.call('SET', KEYS[4], ARGV[5], 'PX', window * 2, 'NX')
redis.call('PEXPIRE', KEYS[4], window * 2)
return {false, redis.call('GET', KEYS[4])}
`;

/** Alert groups in Redis, one document per groupKey, folded with optimistic concurrency. */
export class AlertStore {
  private readonly store: VersionedStore<AlertGroup>;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    this.store = new VersionedStore(redis, RETENTION_MS);
  }

  private key = (id: string) => `${this.prefix}:alert:${id}`;

  get(id: string): Promise<AlertGroup | undefined> {
    return this.store.get(this.key(id));
  }

  /**
   * Folds a notification into its group. A new group's storm digest is fixed when it is
   * first seen: if more than the policy's `stormGroupsPerMinute` groups opened in its
   * channel within the minute before it, it shows as a line of the storm's one digest.
   * Idempotent for a retried job: a group's place is fixed by when it was first seen.
   * `entry`, the notification's alert inbox id, keeps the group from going back (see
   * applyNotification).
   */
  async apply(
    notification: Notification,
    policy: Policy,
    now: number,
    entry?: string,
  ): Promise<{ group: AlertGroup; changes: AlertChange[] }> {
    const id = groupIdOf(notification.groupKey);
    const key = this.key(id);
    const channel = channelFor(policy, severityOf(notification, policy));
    const [raw, placed] = (await runScript(
      this.redis,
      READ_OR_PLACE,
      4,
      key,
      `${this.prefix}:alerts:new:${channel}`,
      `${this.prefix}:alerts:place:${channel}`,
      `${this.prefix}:alerts:storm:${channel}`,
      id,
      String(now),
      String(STORM_WINDOW_MS),
      String(policy.alerts.stormGroupsPerMinute),
      `digest-${channel}-${now}`,
    )) as [string | null, string | null];
    const existing = raw ? snapshotOf<AlertGroup>(raw) : undefined;
    const digest = existing ? existing.value.digest : (placed ?? undefined);
    const result = await this.store.update(
      key,
      (current) => {
        const { group, changes } = applyNotification(current, notification, policy, now, entry);
        if (changes.length === 0) return { verdict: changes };
        return { next: current || !digest ? group : { ...group, digest }, verdict: changes };
      },
      // What was just read: if another worker wrote since, the compare-and-set fails and retries.
      { current: existing },
    );
    // A group that fires unchanged for weeks (Alertmanager's repeats) is still the same
    // group: kept, or it would expire and its next notification start it over as episode 1.
    if (!result.changed && existing) await this.redis.pexpire(key, RETENTION_MS);
    return { group: result.value!, changes: result.verdict };
  }

  async update(
    id: string,
    change: (group: AlertGroup) => AlertGroup | undefined,
  ): Promise<AlertGroup | undefined> {
    const result = await this.store.update(this.key(id), (current) => {
      const next = current ? change(current) : undefined;
      return { next, verdict: null };
    });
    return result.value;
  }

  /**
   * Sets a group's line in a storm digest, firing lines first, then in code-point order.
   * Redis keeps the order (a sorted set), so a storm of n groups costs O(log n) per group.
   */
  async setDigestLine(digest: string, groupId: string, line: string, firing: boolean): Promise<void> {
    const key = this.digestKey(digest);
    await runScript(
      this.redis,
      SET_DIGEST_LINE,
      2,
      `${key}:order`,
      `${key}:members`,
      groupId,
      `${firing ? '0' : '1'}${line}${MEMBER_END}${groupId}`,
      RETENTION_MS,
    );
  }

  /** What a digest shows: its counts and its first `shown` lines, in the digest's order. */
  async digestView(digest: string, shown: number): Promise<DigestView> {
    const order = `${this.digestKey(digest)}:order`;
    const replies = await this.redis
      .multi()
      .zcard(order)
      .zlexcount(order, '[0', '(1')
      .zrange(order, 0, shown - 1)
      .exec();
    const [total, firing, first] = (replies ?? []).map(([err, value]) => {
      if (err) throw err;
      return value;
    }) as [number, number, string[]];
    return { total, firing, lines: first.map((m) => m.slice(1, m.lastIndexOf(MEMBER_END))) };
  }

  private digestKey = (digest: string) => `${this.prefix}:alerts:digest:${digest}`;
}

/** Ends a digest member's line, before its group id (which keeps equal lines apart). */
const MEMBER_END = '\u0000';

// KEYS: the order (sorted set, every score 0, so it is ordered by member bytes) and the
// members by group id. ARGV: group id, member, retention in ms.
const SET_DIGEST_LINE = `
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then redis.call('ZREM', KEYS[1], old) end
redis.call('ZADD', KEYS[1], 0, ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
`;
