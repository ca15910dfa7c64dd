import type { MaintenanceWindow } from './domain/window';
import { Refusal } from '../kernel/domain/refusal';
import type { RedisClient } from '../kernel/redis';
import { VersionedStore } from '../kernel/versioned';
import { runScript } from '../kernel/script';

const RETENTION_MS = 400 * 86_400_000;
/**
 * How far back `upcoming` looks for windows that may still run: longer than the longest
 * window (24 h). The index keeps only windows starting after it, so it holds no past.
 */
const LOOKBACK_MS = 2 * 86_400_000;
/** A shared read also takes windows starting this soon, so a later `now` may still use it. */
const SHARED_READ_AHEAD_MS = 60_000;
/**
 * The most windows to come at once. A new one past it is refused rather than trimming the
 * index, which would drop a window that has not happened yet from every listing; the
 * policy's recurring window (two at most) is planned even then.
 */
export const MAX_UPCOMING_WINDOWS = 1_000;

/**
 * Adds a window to the start index unless the windows to come are at the cap (`ARGV[4]`
 * 1: the cap applies), and drops the windows that are over. Returns 0 when refused.
 */
const INDEX = `
local over = '(' .. ARGV[3]
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', over)
if ARGV[4] == '1' and not redis.call('ZSCORE', KEYS[1], ARGV[1])
    and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[5]) then
  return 0
end
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1
`;

/** Maintenance windows in Redis, indexed by start time. */
export class MaintenanceStore {
  private readonly store: VersionedStore<MaintenanceWindow>;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    this.store = new VersionedStore(redis, RETENTION_MS);
  }

  private key = (id: string) => `${this.prefix}:maintenance:${id}`;
  private index = () => `${this.prefix}:maintenance:by-start`;

  /**
   * Stores a new window; false when one with this id exists (a recurring window already
   * planned). Throws a Refusal naming the cap when MAX_UPCOMING_WINDOWS are to come.
   */
  async create(window: MaintenanceWindow): Promise<boolean> {
    // The window's creation time is the store's "now": what has ended by then leaves the index.
    const indexed = await runScript(
      this.redis,
      INDEX,
      1,
      this.index(),
      window.id,
      String(window.start),
      String(window.createdAt - LOOKBACK_MS),
      window.recurring ? '0' : '1',
      String(MAX_UPCOMING_WINDOWS),
      String(RETENTION_MS),
    );
    if (indexed === 0) {
      throw new Refusal(
        'guard',
        `${MAX_UPCOMING_WINDOWS} maintenance windows are to come already, the most the bot keeps; cancel one first`,
      );
    }
    if (await this.store.create(this.key(window.id), window)) return true;
    // The id was taken (the recurring window planned again): the index keeps it only while it may run.
    const existing = await this.get(window.id);
    if (!existing || existing.status === 'cancelled' || existing.status === 'done')
      await this.redis.zrem(this.index(), window.id);
    return false;
  }

  get(id: string): Promise<MaintenanceWindow | undefined> {
    return this.store.get(this.key(id));
  }

  /** Changes a window; the index follows a move, and lets go of a window cancelled or done. */
  async update(
    id: string,
    change: (window: MaintenanceWindow) => MaintenanceWindow | undefined,
  ): Promise<{ changed: boolean; window?: MaintenanceWindow }> {
    const result = await this.store.update(this.key(id), (current) => ({
      next: current ? change(current) : undefined,
      verdict: null,
    }));
    const window = result.value;
    if (result.changed && window) {
      if (window.status === 'cancelled' || window.status === 'done') await this.redis.zrem(this.index(), id);
      else await this.redis.zadd(this.index(), 'XX', window.start, id);
    }
    return { changed: result.changed, window };
  }

  /** Windows scheduled or running that have not ended by `now`, soonest first. */
  async upcoming(now: number): Promise<MaintenanceWindow[]> {
    const ids = await this.redis.zrangebyscore(this.index(), now - LOOKBACK_MS, '+inf');
    const windows = await Promise.all(ids.map((id) => this.get(id)));
    return windows.filter(
      (w): w is MaintenanceWindow =>
        w !== undefined && w.end > now && (w.status === 'scheduled' || w.status === 'active'),
    );
  }

  /**
   * The window running now in `environment`, if any. Asked for every alert group that
   * opens, so it reads only the windows that have started (by the index's start times),
   * not every one to come. Those who ask while such a read is on its way (a batch of alert
   * notifications asks at once) share it, each keeping what runs at its own `now`.
   */
  async activeIn(environment: string, now: number): Promise<MaintenanceWindow | undefined> {
    let read = this.started;
    if (!read || now < read.from || now > read.until) {
      const until = now + SHARED_READ_AHEAD_MS;
      const windows = this.readStarted(now, until).finally(() => {
        if (this.started?.windows === windows) this.started = undefined;
      });
      read = this.started = { from: now, until, windows };
    }
    return (await read.windows).find(
      (w) =>
        w.environment === environment &&
        w.start <= now &&
        w.end > now &&
        (w.status === 'scheduled' || w.status === 'active'),
    );
  }

  /** The read on its way, and the times it answers for. */
  private started?: { from: number; until: number; windows: Promise<MaintenanceWindow[]> };

  private async readStarted(now: number, until: number): Promise<MaintenanceWindow[]> {
    const ids = await this.redis.zrangebyscore(this.index(), now - LOOKBACK_MS, until);
    const windows = await Promise.all(ids.map((id) => this.get(id)));
    return windows.filter((w): w is MaintenanceWindow => w !== undefined);
  }

  /** Marks one notice of a window as posted; false when it was already (another worker, a retry). */
  async claimNotice(id: string, notice: string): Promise<boolean> {
    const set = await this.redis.set(`${this.key(id)}:notice:${notice}`, '1', 'PX', RETENTION_MS, 'NX');
    return set === 'OK';
  }
}
