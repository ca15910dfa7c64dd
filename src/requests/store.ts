import { randomBytes } from 'node:crypto';
import type { EnvironmentName } from '../commands/domain/types';
import type { OpsRequest } from './domain/types';
import type { RedisClient } from '../kernel/redis';
import { keys, type Keys } from '../kernel/keys';
import { VersionedStore, type Snapshot } from '../kernel/versioned';

const RETENTION_MS = 30 * 86_400_000;
/** The index of an environment's requests keeps the newest this many (and none past retention). */
export const MAX_INDEXED = 1_000;

export interface Update<T> {
  changed: boolean;
  request: OpsRequest;
  value: T;
  /** The request's text as written, when `changed` (see Snapshot.stored). */
  stored?: string;
}

/** Ops requests in Redis, changed only with optimistic concurrency (see VersionedStore). */
export class RequestStore {
  private readonly keys: Keys;
  private readonly store: VersionedStore<OpsRequest>;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = keys(prefix);
    this.store = new VersionedStore(redis, RETENTION_MS);
  }

  static newId(): string {
    return `r${randomBytes(4).toString('hex')}`;
  }

  /** The id of the request a job makes: new for its first attempt, the same for every retry. */
  async idForJob(jobId: string): Promise<string> {
    const key = this.keys.requestOfJob(jobId);
    await this.redis.set(key, RequestStore.newId(), 'PX', RETENTION_MS, 'NX');
    return (await this.redis.get(key))!;
  }

  async create(request: OpsRequest): Promise<void> {
    if (!(await this.store.create(this.keys.request(request.id), request))) {
      throw new Error(`request ${request.id} exists already`);
    }
    const index = this.keys.requestsOf(request.environment);
    await this.redis
      .multi()
      .zadd(index, request.createdAt, request.id)
      .zremrangebyscore(index, '-inf', request.createdAt - RETENTION_MS)
      .zremrangebyrank(index, 0, -(MAX_INDEXED + 1))
      .pexpire(index, RETENTION_MS)
      .exec();
  }

  get(id: string): Promise<OpsRequest | undefined> {
    return this.store.get(this.keys.request(id));
  }

  /** The request with its version, for an `update` that follows at once. */
  read(id: string): Promise<Snapshot<OpsRequest> | undefined> {
    return this.store.read(this.keys.request(id));
  }

  /**
   * Applies `decide` to the current request: it returns the new request to store, or
   * no `next` to leave it; `value` carries the decision's reason back. Undefined when
   * there is no such request. `read`: what `read` just returned, which saves a round trip.
   */
  async update<T>(
    id: string,
    decide: (current: OpsRequest) => { next?: OpsRequest; value: T },
    read?: Snapshot<OpsRequest>,
  ): Promise<Update<T> | undefined> {
    let missing = false;
    const result = await this.store.update(
      this.keys.request(id),
      (current) => {
        if (!current) {
          missing = true;
          return { verdict: undefined };
        }
        const { next, value } = decide(current);
        return { next, verdict: value };
      },
      read && { current: read },
    );
    if (missing || !result.value) return undefined;
    return {
      changed: result.changed,
      request: result.value,
      value: result.verdict as T,
      ...(result.written === undefined ? {} : { stored: result.written }),
    };
  }

  /** The newest requests of an environment, newest first. */
  async recent(env: EnvironmentName, count = 20): Promise<OpsRequest[]> {
    const ids = await this.redis.zrevrange(this.keys.requestsOf(env), 0, count - 1);
    const found = await Promise.all(ids.map((id) => this.get(id)));
    return found.filter((r): r is OpsRequest => r !== undefined);
  }
}
