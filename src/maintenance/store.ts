import type { MaintenanceWindow } from './domain/window';
import type { RedisClient } from '../kernel/redis';
import { VersionedStore } from '../kernel/versioned';

const RETENTION_MS = 400 * 86_400_000;
/** The start index keeps the latest this many windows (and none ended past retention). */
export const MAX_INDEXED = 2_000;

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

  /** Stores a new window; false when one with this id exists (a recurring window already planned). */
  async create(window: MaintenanceWindow): Promise<boolean> {
    if (!(await this.store.create(this.key(window.id), window))) return false;
    await this.redis
      .multi()
      .zadd(this.index(), window.start, window.id)
      .zremrangebyscore(this.index(), '-inf', window.createdAt - RETENTION_MS)
      .zremrangebyrank(this.index(), 0, -(MAX_INDEXED + 1))
      .pexpire(this.index(), RETENTION_MS)
      .exec();
    return true;
  }

  get(id: string): Promise<MaintenanceWindow | undefined> {
    return this.store.get(this.key(id));
  }

  async update(
    id: string,
    change: (window: MaintenanceWindow) => MaintenanceWindow | undefined,
  ): Promise<{ changed: boolean; window?: MaintenanceWindow }> {
    const result = await this.store.update(this.key(id), (current) => ({
      next: current ? change(current) : undefined,
      verdict: null,
    }));
    return { changed: result.changed, window: result.value };
  }

  /** Windows scheduled or running that have not ended by `now`, soonest first. */
  async upcoming(now: number): Promise<MaintenanceWindow[]> {
    const ids = await this.redis.zrangebyscore(this.index(), now - 2 * 86_400_000, '+inf');
    const windows = await Promise.all(ids.map((id) => this.get(id)));
    return windows.filter(
      (w): w is MaintenanceWindow =>
        w !== undefined && w.end > now && (w.status === 'scheduled' || w.status === 'active'),
    );
  }

  /** The window running now in `environment`, if any. */
  async activeIn(environment: string, now: number): Promise<MaintenanceWindow | undefined> {
    return (await this.upcoming(now)).find((w) => w.environment === environment && w.start <= now);
  }

  /** Marks one notice of a window as posted; false when it was already (another worker, a retry). */
  async claimNotice(id: string, notice: string): Promise<boolean> {
    const set = await this.redis.set(`${this.key(id)}:notice:${notice}`, '1', 'PX', RETENTION_MS, 'NX');
    return set === 'OK';
  }
}
