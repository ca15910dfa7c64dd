import type { RedisClient } from '../kernel/redis';
import { keys, type Keys } from '../kernel/keys';
import { runScript } from '../kernel/script';
import { systemClock, type Clock } from '../kernel/clock';

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Extends the lease of a lock only while `holder` has it: a renewal never takes a lock. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

export type LockResult = { ok: true } | { ok: false; holder: string };

/**
 * One change at a time per (environment, service): a Redis key holding the request id,
 * with a lease so a crashed worker cannot hold it for ever.
 */
export class ChangeLocks {
  private readonly keys: Keys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly clock: Clock = systemClock,
  ) {
    this.keys = keys(prefix);
  }

  /** Takes the lock, or renews it when `holder` has it already (a retried job). */
  async acquire(env: string, service: string, holder: string, leaseMs: number): Promise<LockResult> {
    const key = this.keys.lock(env, service);
    if ((await this.redis.set(key, holder, 'PX', leaseMs, 'NX')) === 'OK') return { ok: true };
    const current = await this.redis.get(key);
    if (current === holder) {
      await this.redis.pexpire(key, leaseMs);
      return { ok: true };
    }
    if (current === null) return this.acquire(env, service, holder, leaseMs);
    return { ok: false, holder: current };
  }

  /** Takes every lock or none. */
  async acquireAll(env: string, services: string[], holder: string, leaseMs: number): Promise<LockResult> {
    const taken: string[] = [];
    for (const service of services) {
      const result = await this.acquire(env, service, holder, leaseMs);
      if (!result.ok) {
        await Promise.all(taken.map((s) => this.release(env, s, holder)));
        return result;
      }
      taken.push(service);
    }
    return { ok: true };
  }

  /**
   * Runs `work` while renewing `holder`'s locks every third of their lease: one step may
   * take longer than the lease (a restore waits up to its Job's deadline, a deploy for its
   * rollouts), and a lease that ran out under it would let another change start beside it.
   * The lease is still what frees the locks of a worker that died, within one lease.
   * `lost` hears of a lock that is no longer the holder's, once per lock. Renewal stops
   * after `maxHoldMs` (a step that hangs gives its locks up within a lease after that) and
   * once `owned` says this run no longer has its job (another worker took it over).
   */
  async holdWhile<T>(
    env: string,
    services: string[],
    holder: string,
    leaseMs: number,
    work: () => Promise<T>,
    options: {
      lost: (service: string) => void;
      maxHoldMs: number;
      owned?: (() => Promise<boolean>) | undefined;
    },
  ): Promise<T> {
    const gone = new Set<string>();
    const until = this.clock.now() + options.maxHoldMs;
    let done = false;
    const renew = async () => {
      if (this.clock.now() > until || (options.owned && !(await options.owned())))
        return clearInterval(timer);
      for (const service of services) {
        if (gone.has(service)) continue;
        const renewed = await runScript(this.redis, RENEW, 1, this.keys.lock(env, service), holder, leaseMs);
        // A renewal still under way when the work ended and the locks were released is no lapse.
        if (renewed !== 1 && !done) {
          gone.add(service);
          options.lost(service);
        }
      }
    };
    const timer = setInterval(
      () => void renew().catch(() => undefined),
      Math.max(1, Math.floor(leaseMs / 3)),
    );
    timer.unref();
    try {
      return await work();
    } finally {
      done = true;
      clearInterval(timer);
    }
  }

  async holder(env: string, service: string): Promise<string | null> {
    return this.redis.get(this.keys.lock(env, service));
  }

  async release(env: string, service: string, holder: string): Promise<void> {
    await runScript(this.redis, RELEASE, 1, this.keys.lock(env, service), holder);
  }

  async releaseAll(env: string, services: string[], holder: string): Promise<void> {
    await Promise.all(services.map((s) => this.release(env, s, holder)));
  }

  /**
   * When the service was last scaled, not counting a scale made by the request that holds
   * its lock now: a job retried after a transient error must not be refused by the
   * cooldown its own earlier attempt started.
   */
  async lastScale(env: string, service: string): Promise<number | undefined> {
    const [value, holder] = await Promise.all([
      this.redis.get(this.keys.lastScale(env, service)),
      this.holder(env, service),
    ]);
    if (!value) return undefined;
    const [at, by] = value.split(' ');
    if (by !== undefined && by === holder) return undefined;
    return Number(at);
  }

  /** Called while the scaling request holds the service's lock; remembers which request it was. */
  async recordScale(env: string, service: string, at: number): Promise<void> {
    const by = await this.holder(env, service);
    await this.redis.set(
      this.keys.lastScale(env, service),
      by ? `${at} ${by}` : String(at),
      'PX',
      86_400_000,
    );
  }
}
