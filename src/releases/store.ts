import type { Colour, EnvironmentName } from '../kernel/domain/environment';
import { appendRelease, encodeReleases, parseReleases, type ReleaseRecord } from '../kernel/domain/release';
import { keys, type Keys } from '../kernel/keys';
import type { RedisClient } from '../kernel/redis';

/** The index lives a long while, but not for ever: the cluster's annotations refill it. */
const INDEX_TTL_MS = 90 * 86_400_000;

/** A service inside its bake window: the release that moved its traffic, and its thread. */
export interface Baking {
  /** The request that moved the traffic. */
  release: string;
  environment: EnvironmentName;
  service: string;
  from: Colour;
  to: Colour;
  version: string;
  /** Who asked for the release: an automatic switch back is made on their request's behalf. */
  requester: string;
  channel: string;
  /** The request's parent message: the release's thread. */
  threadTs?: string;
  switchedAt: number;
  until: number;
}

/**
 * Redis as the fast index of the release history (the cluster's annotations are the
 * record; this copy answers `/azora releases` without reading every object), and the
 * bake windows an alert is checked against. Every key expires.
 */
export class ReleaseStore {
  private readonly keys: Keys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = keys(prefix);
  }

  /** The indexed history, oldest first; undefined when Redis has none (lost, or never written). */
  async history(env: EnvironmentName, service: string): Promise<ReleaseRecord[] | undefined> {
    const value = await this.redis.get(this.keys.releases(env, service));
    return value === null ? undefined : parseReleases(value);
  }

  /** Replaces the indexed history (a refill from the cluster). */
  async fill(env: EnvironmentName, service: string, history: ReleaseRecord[], limit: number): Promise<void> {
    await this.redis.set(
      this.keys.releases(env, service),
      encodeReleases(history, limit),
      'PX',
      INDEX_TTL_MS,
    );
  }

  /** Adds a record to the index; writes to one service are serialized by its change lock. */
  async add(env: EnvironmentName, service: string, record: ReleaseRecord, limit: number): Promise<void> {
    const current = (await this.history(env, service)) ?? [];
    await this.redis.set(
      this.keys.releases(env, service),
      appendRelease(current, record, limit),
      'PX',
      INDEX_TTL_MS,
    );
  }

  async startBaking(entry: Baking): Promise<void> {
    const ttl = entry.until - entry.switchedAt;
    if (ttl <= 0) return;
    await this.redis.set(
      this.keys.baking(entry.environment, entry.service),
      JSON.stringify(entry),
      'PX',
      ttl,
    );
  }

  async baking(env: EnvironmentName, service: string): Promise<Baking | undefined> {
    const value = await this.redis.get(this.keys.baking(env, service));
    if (!value) return undefined;
    try {
      return JSON.parse(value) as Baking;
    } catch {
      return undefined;
    }
  }

  /** The bake window is over early: the service was switched back or rolled back. */
  async stopBaking(env: EnvironmentName, service: string): Promise<void> {
    await this.redis.del(this.keys.baking(env, service));
  }

  /** True the first time for a release and service: one automatic switch back each, whatever fires. */
  async claimAutoSwitchBack(release: string, service: string, ttlMs: number): Promise<boolean> {
    const key = this.keys.autoSwitchBack(release, service);
    return (await this.redis.set(key, '1', 'PX', Math.max(ttlMs, 60_000), 'NX')) === 'OK';
  }

  /** Gives the claim back: the switch back it stood for was refused before anything changed (a lock held). */
  async releaseAutoSwitchBack(release: string, service: string): Promise<void> {
    await this.redis.del(this.keys.autoSwitchBack(release, service));
  }

  /** Whether the release's thread was told `note` already (see told). */
  async wasTold(release: string, note: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.releaseTold(release, note))) === 1;
  }

  /** Remembers, for `ttlMs` (the rest of the bake window), that the release's thread was told `note`. */
  async told(release: string, note: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.keys.releaseTold(release, note), '1', 'PX', Math.max(ttlMs, 60_000));
  }
}

/** What the operations use of the store; unit tests give an in-memory one. */
export type ReleaseIndex = Pick<
  ReleaseStore,
  | 'history'
  | 'fill'
  | 'add'
  | 'startBaking'
  | 'baking'
  | 'stopBaking'
  | 'claimAutoSwitchBack'
  | 'releaseAutoSwitchBack'
  | 'wasTold'
  | 'told'
>;
