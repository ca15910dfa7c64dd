import type { RedisClient } from './redis';
import { runScript } from './script';

/**
 * Writes `ARGV[2]` only if the stored value still has version `ARGV[1]` (and, given
 * `ARGV[4]`, is still exactly that text); else returns what is stored.
 */
const COMPARE_AND_SET = `
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
if cjson.decode(raw).version ~= tonumber(ARGV[1]) then return raw end
if ARGV[4] and raw ~= ARGV[4] then return raw end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 'OK'
`;

const MAX_CAS_ATTEMPTS = 10;

/** A stored value with the version `update` compares against. */
export interface Snapshot<T> {
  value: T;
  version: number;
  /**
   * The text as stored, when the snapshot was carried from elsewhere (a job's data) rather
   * than read here: a write based on it also checks the store still holds exactly this
   * text, so what was carried counts for no more than a read would.
   */
  stored?: string;
}

export interface Updated<T, V> {
  changed: boolean;
  value: T;
  /** What `decide` said, for the caller to act on. */
  verdict: V;
  /** The text written, when `changed`: for a caller that hands the new document on (see Snapshot.stored). */
  written?: string;
}

/**
 * JSON documents in Redis changed only through `update`: read, decide in plain code,
 * write back if nobody else wrote in between (optimistic concurrency). Two approvers
 * clicking at once, or two workers handling one alert group, cannot both win.
 */
export class VersionedStore<T extends object> {
  constructor(
    private readonly redis: RedisClient,
    private readonly retentionMs: number,
  ) {}

  async create(key: string, value: T): Promise<boolean> {
    const stored = JSON.stringify({ ...value, version: 1 });
    return (await this.redis.set(key, stored, 'PX', this.retentionMs, 'NX')) === 'OK';
  }

  async get(key: string): Promise<T | undefined> {
    return (await this.read(key))?.value;
  }

  async read(key: string): Promise<Snapshot<T> | undefined> {
    const raw = await this.redis.get(key);
    return raw ? snapshotOf<T>(raw) : undefined;
  }

  /**
   * Applies `decide` to the current value (undefined when there is none). `decide`
   * returns the value to store, or no `next` to leave it as it is. `read`, when the caller
   * has just read the key, saves the first round trip; a stale one only costs a retry.
   */
  async update<V>(
    key: string,
    decide: (current: T | undefined) => { next?: T; verdict: V },
    read?: { current: Snapshot<T> | undefined },
  ): Promise<Updated<T | undefined, V>> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = attempt === 0 && read ? read.current : await this.read(key);
      const { next, verdict } = decide(current?.value);
      // A carried snapshot only counts once a write confirms it: leaving the value as it is
      // is decided again on what a read finds.
      if (!next && current?.stored !== undefined) continue;
      if (!next) return { changed: false, value: current?.value, verdict };
      const written = JSON.stringify({ ...next, version: (current?.version ?? 0) + 1 });
      if (!current) {
        if ((await this.redis.set(key, written, 'PX', this.retentionMs, 'NX')) === 'OK') {
          return { changed: true, value: next, verdict, written };
        }
        continue;
      }
      const result = await runScript(
        this.redis,
        COMPARE_AND_SET,
        1,
        key,
        String(current.version),
        written,
        String(this.retentionMs),
        ...(current.stored === undefined ? [] : [current.stored]),
      );
      if (result === 'OK') return { changed: true, value: next, verdict, written };
    }
    throw new Error(`${key} kept changing under us; gave up after ${MAX_CAS_ATTEMPTS} attempts`);
  }
}

/** A document as `update` stored it (for a caller that read it itself, e.g. inside a script). */
export function snapshotOf<T>(raw: string): Snapshot<T> {
  const { version, ...value } = JSON.parse(raw) as T & { version: number };
  return { value: value as T, version };
}

/**
 * A document's text as `update` wrote it, carried elsewhere and back (in a job's data):
 * a write based on it checks the store still holds exactly this text (see Snapshot.stored).
 * Undefined when the text is not such a document.
 */
export function carriedSnapshot<T>(text: string): Snapshot<T> | undefined {
  try {
    const snapshot = snapshotOf<T>(text);
    return Number.isInteger(snapshot.version) ? { ...snapshot, stored: text } : undefined;
  } catch {
    return undefined;
  }
}
