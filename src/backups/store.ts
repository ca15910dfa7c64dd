import type { EnvironmentName } from '../kernel/domain/environment';
import { keys, type Keys } from '../kernel/keys';
import type { RedisClient } from '../kernel/redis';

const INDEX_TTL_MS = 90 * 86_400_000;

/** What the bot knows of one backup beyond its Job: the script's report. */
export interface BackupEntry {
  id: string;
  environment: EnvironmentName;
  /** `scheduled`, a request id, or the Slack user who asked. */
  by: string;
  ok: boolean;
  bytes?: number;
  file?: string;
  reason?: string;
  startedAt: number;
  finishedAt: number;
}

/**
 * Redis as the index of backups (the Jobs the bot labelled are the record): the sizes and
 * reports the Jobs' logs gave, for `/azora backups`. One hash per environment, pruned to
 * what is kept, expiring.
 */
export class BackupStore {
  private readonly keys: Keys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = keys(prefix);
  }

  async record(entry: BackupEntry): Promise<void> {
    const key = this.keys.backups(entry.environment);
    await this.redis.multi().hset(key, entry.id, JSON.stringify(entry)).pexpire(key, INDEX_TTL_MS).exec();
  }

  async all(env: EnvironmentName): Promise<BackupEntry[]> {
    const raw = await this.redis.hgetall(this.keys.backups(env));
    return Object.values(raw)
      .flatMap((value) => {
        try {
          return [JSON.parse(value) as BackupEntry];
        } catch {
          return [];
        }
      })
      .sort((a, b) => b.startedAt - a.startedAt);
  }

  async forget(env: EnvironmentName, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.hdel(this.keys.backups(env), ...ids);
  }
}

export type BackupIndex = Pick<BackupStore, 'record' | 'all' | 'forget'>;
