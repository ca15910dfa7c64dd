import type { Clock } from '../../../src/kernel/clock';
import type { AuditEvent, AuditLog } from '../../../src/kernel/audit';
import type { OpsRequest } from '../../../src/requests/domain/types';
import type { ChangeLocks, LockResult } from '../../../src/requests/locks';
import type { RequestStore, Update } from '../../../src/requests/store';
import type { Baking, ReleaseIndex } from '../../../src/releases/store';
import type { BackupEntry, BackupIndex } from '../../../src/backups/store';
import type { ReleaseRecord } from '../../../src/kernel/domain/release';

/** Redis holds JSON: what goes in and comes out is a copy, never the caller's object. */
const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * RequestStore in memory: the same create/get/update contract (update applies `decide` to
 * the current request; no `next` leaves it; undefined when there is none). One process
 * and no awaits inside an update, so there is no concurrent writer to compare against:
 * the compare-and-set itself is tested on Redis (test/unit/versioned-store.test.ts).
 */
export class MemoryRequestStore implements Pick<RequestStore, 'create' | 'get' | 'update'> {
  private readonly byId = new Map<string, OpsRequest>();

  async create(request: OpsRequest): Promise<void> {
    if (this.byId.has(request.id)) throw new Error(`request ${request.id} exists already`);
    this.byId.set(request.id, copy(request));
  }

  async get(id: string): Promise<OpsRequest | undefined> {
    const found = this.byId.get(id);
    return found && copy(found);
  }

  async update<T>(
    id: string,
    decide: (current: OpsRequest) => { next?: OpsRequest; value: T },
  ): Promise<Update<T> | undefined> {
    const current = this.byId.get(id);
    if (!current) return undefined;
    const { next, value } = decide(copy(current));
    if (!next) return { changed: false, request: copy(current), value };
    this.byId.set(id, copy(next));
    return { changed: true, request: copy(next), value };
  }
}

/**
 * ChangeLocks in memory, with leases read from the injected clock: a lock per
 * (environment, service) holding a request id; taken by one holder, renewed by it,
 * released only by it; the last scale remembers the holder that made it.
 */
export class MemoryLocks implements Pick<
  ChangeLocks,
  'acquire' | 'acquireAll' | 'holdWhile' | 'holder' | 'release' | 'releaseAll' | 'lastScale' | 'recordScale'
> {
  private readonly locks = new Map<string, { holder: string; until: number }>();
  private readonly scales = new Map<string, { at: number; by?: string }>();

  constructor(private readonly clock: Clock) {}

  async acquire(env: string, service: string, holder: string, leaseMs: number): Promise<LockResult> {
    const current = await this.holder(env, service);
    if (current !== null && current !== holder) return { ok: false, holder: current };
    this.locks.set(`${env}/${service}`, { holder, until: this.clock.now() + leaseMs });
    return { ok: true };
  }

  async acquireAll(env: string, services: string[], holder: string, leaseMs: number): Promise<LockResult> {
    const taken: string[] = [];
    for (const service of services) {
      const result = await this.acquire(env, service, holder, leaseMs);
      if (!result.ok) {
        await this.releaseAll(env, taken, holder);
        return result;
      }
      taken.push(service);
    }
    return { ok: true };
  }

  /** Leases here end only when a test moves the clock, which no step does: the work just runs. */
  holdWhile<T>(
    _env: string,
    _services: string[],
    _holder: string,
    _leaseMs: number,
    work: () => Promise<T>,
  ): Promise<T> {
    return work();
  }

  async holder(env: string, service: string): Promise<string | null> {
    const lock = this.locks.get(`${env}/${service}`);
    if (!lock || lock.until <= this.clock.now()) return null;
    return lock.holder;
  }

  async release(env: string, service: string, holder: string): Promise<void> {
    if ((await this.holder(env, service)) === holder) this.locks.delete(`${env}/${service}`);
  }

  async releaseAll(env: string, services: string[], holder: string): Promise<void> {
    for (const service of services) await this.release(env, service, holder);
  }

  async lastScale(env: string, service: string): Promise<number | undefined> {
    const last = this.scales.get(`${env}/${service}`);
    if (!last) return undefined;
    if (last.by !== undefined && last.by === (await this.holder(env, service))) return undefined;
    return last.at;
  }

  async recordScale(env: string, service: string, at: number): Promise<void> {
    const by = await this.holder(env, service);
    this.scales.set(`${env}/${service}`, { at, ...(by ? { by } : {}) });
  }
}

/** The audit trail in memory, newest last in `events`. */
export class MemoryAudit implements Pick<AuditLog, 'record' | 'recent'> {
  readonly events: AuditEvent[] = [];

  constructor(private readonly clock: Clock) {}

  async record(event: Omit<AuditEvent, 'at'>, at = this.clock.now()): Promise<void> {
    this.events.push(copy({ ...event, at }));
  }

  async recent(count: number, environment?: string): Promise<AuditEvent[]> {
    return [...this.events]
      .reverse()
      .filter((e) => environment === undefined || e.environment === environment)
      .slice(0, count);
  }

  /** The event types of one request, in order. */
  typesOf(request: string): string[] {
    return this.events.filter((e) => e.request === request).map((e) => e.type);
  }
}

/** The release index and bake windows in memory, expiry read from the injected clock. */
export class MemoryReleases implements ReleaseIndex {
  private readonly histories = new Map<string, ReleaseRecord[]>();
  private readonly bakes = new Map<string, Baking>();
  private readonly claims = new Set<string>();
  private readonly notes = new Set<string>();

  constructor(private readonly clock: Clock) {}

  async history(env: string, service: string): Promise<ReleaseRecord[] | undefined> {
    const found = this.histories.get(`${env}/${service}`);
    return found && copy(found);
  }

  async fill(env: string, service: string, history: ReleaseRecord[], limit: number): Promise<void> {
    this.histories.set(`${env}/${service}`, copy(history.slice(-limit)));
  }

  async add(env: string, service: string, record: ReleaseRecord, limit: number): Promise<void> {
    const kept = (this.histories.get(`${env}/${service}`) ?? []).filter((r) => r.id !== record.id);
    this.histories.set(`${env}/${service}`, [...kept, copy(record)].slice(-limit));
  }

  async startBaking(entry: Baking): Promise<void> {
    this.bakes.set(`${entry.environment}/${entry.service}`, copy(entry));
  }

  async baking(env: string, service: string): Promise<Baking | undefined> {
    const found = this.bakes.get(`${env}/${service}`);
    return found && found.until > this.clock.now() ? copy(found) : undefined;
  }

  async stopBaking(env: string, service: string): Promise<void> {
    this.bakes.delete(`${env}/${service}`);
  }

  async claimAutoSwitchBack(release: string, service: string): Promise<boolean> {
    const key = `${release}/${service}`;
    if (this.claims.has(key)) return false;
    this.claims.add(key);
    return true;
  }

  async releaseAutoSwitchBack(release: string, service: string): Promise<void> {
    this.claims.delete(`${release}/${service}`);
  }

  async wasTold(release: string, note: string): Promise<boolean> {
    return this.notes.has(`${release}/${note}`);
  }

  async told(release: string, note: string): Promise<void> {
    this.notes.add(`${release}/${note}`);
  }
}

/** The backups' index in memory. */
export class MemoryBackups implements BackupIndex {
  private readonly entries = new Map<string, BackupEntry>();

  async record(entry: BackupEntry): Promise<void> {
    this.entries.set(entry.id, copy(entry));
  }

  async all(env: string): Promise<BackupEntry[]> {
    return [...this.entries.values()]
      .filter((e) => e.environment === env)
      .sort((a, b) => b.startedAt - a.startedAt)
      .map(copy);
  }

  async forget(_env: string, ids: string[]): Promise<void> {
    for (const id of ids) this.entries.delete(id);
  }
}
