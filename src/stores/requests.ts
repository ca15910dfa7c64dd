import { randomBytes } from 'node:crypto';
import type { EnvironmentName } from '../domain/commands/types';
import type { OpsRequest } from '../domain/requests/types';
import type { RedisClient } from '../redis';
import { keys, type Keys } from './keys';

const RETENTION_MS = 30 * 86_400_000;
const MAX_CAS_ATTEMPTS = 10;

/** Writes `ARGV[2]` only if the stored request still has version `ARGV[1]`; else returns what is stored. */
const COMPARE_AND_SET = `
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
if cjson.decode(raw).version ~= tonumber(ARGV[1]) then return raw end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 'OK'
`;

type Stored = OpsRequest & { version: number };

export type Update<T> =
  { changed: true; request: OpsRequest; value: T } | { changed: false; request: OpsRequest; value: T };

/**
 * Ops requests in Redis, changed only through `update`: read, decide in plain code,
 * write back if nobody else wrote in between (optimistic concurrency). Two approvers
 * clicking at once therefore cannot both win.
 */
export class RequestStore {
  private readonly keys: Keys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = keys(prefix);
  }

  static newId(): string {
    return `r${randomBytes(4).toString('hex')}`;
  }

  async create(request: OpsRequest): Promise<void> {
    const stored: Stored = { ...request, version: 1 };
    const created = await this.redis.set(
      this.keys.request(request.id),
      JSON.stringify(stored),
      'PX',
      RETENTION_MS,
      'NX',
    );
    if (created !== 'OK') throw new Error(`request ${request.id} exists already`);
    await this.redis.zadd(this.keys.requestsOf(request.environment), request.createdAt, request.id);
  }

  async get(id: string): Promise<OpsRequest | undefined> {
    const raw = await this.redis.get(this.keys.request(id));
    return raw ? strip(JSON.parse(raw) as Stored) : undefined;
  }

  /**
   * Applies `decide` to the current request. `decide` returns the new request to store,
   * or `undefined` to leave it as it is; `value` carries the decision's reason back.
   */
  async update<T>(
    id: string,
    decide: (current: OpsRequest) => { next?: OpsRequest; value: T },
  ): Promise<Update<T> | undefined> {
    const key = this.keys.request(id);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const raw = await this.redis.get(key);
      if (!raw) return undefined;
      const stored = JSON.parse(raw) as Stored;
      const current = strip(stored);
      const { next, value } = decide(current);
      if (!next) return { changed: false, request: current, value };
      const written: Stored = { ...next, version: stored.version + 1 };
      const result = await this.redis.eval(
        COMPARE_AND_SET,
        1,
        key,
        String(stored.version),
        JSON.stringify(written),
        String(RETENTION_MS),
      );
      if (result === 'OK') return { changed: true, request: strip(written), value };
    }
    throw new Error(`request ${id} kept changing under us; gave up after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  /** The newest requests of an environment, newest first. */
  async recent(env: EnvironmentName, count = 20): Promise<OpsRequest[]> {
    const ids = await this.redis.zrevrange(this.keys.requestsOf(env), 0, count - 1);
    const found = await Promise.all(ids.map((id) => this.get(id)));
    return found.filter((r): r is OpsRequest => r !== undefined);
  }
}

function strip(stored: Stored): OpsRequest {
  const { version: _version, ...request } = stored;
  return request;
}
