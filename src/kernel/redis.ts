import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Config } from '../config/env';
import { systemClock } from './clock';
import type { Logger } from './log';

export type RedisClient = Redis | Cluster;

/**
 * `commands` connections fail a request after one reconnect attempt so that HTTP handlers
 * can answer 503 at once; `blocking` connections (BullMQ workers and queue events) wait
 * for Redis forever, as BullMQ requires.
 */
export type ConnectionKind = 'commands' | 'blocking';

export type RedisConfig = Pick<Config, 'redisUrl' | 'redisClusterNodes'> &
  Partial<Pick<Config, 'redisAuth' | 'redisTls'>>;

export function connectRedis(config: RedisConfig, kind: ConnectionKind, logger: Logger): RedisClient {
  const maxRetriesPerRequest = kind === 'blocking' ? null : 1;
  const { username, password } = config.redisAuth ?? {};
  const security: Pick<RedisOptions, 'username' | 'password' | 'tls'> = {
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(config.redisTls ? { tls: tlsOptions(config.redisTls) } : {}),
  };
  const client: RedisClient = config.redisClusterNodes
    ? new Cluster(
        config.redisClusterNodes.map((node) => {
          const [host, port] = node.split(':');
          return { host, port: Number(port) };
        }),
        clusterOptions(maxRetriesPerRequest, security),
      )
    : new Redis(
        // The URL's own credentials would win over the options: loadConfig has already
        // merged them into redisAuth, with REDIS_USERNAME/REDIS_PASSWORD on top.
        config.redisAuth ? withoutCredentials(config.redisUrl) : config.redisUrl,
        { maxRetriesPerRequest, lazyConnect: false, ...security },
      );
  watch(client, kind, outageOf(logger));
  return client;
}

/** Every node of a cluster gets the same user, password and TLS as a single node would. */
function clusterOptions(
  maxRetriesPerRequest: number | null,
  security: Pick<RedisOptions, 'username' | 'password' | 'tls'>,
): ClusterOptions {
  return {
    // ioredis reads maxRetriesPerRequest per node, so it lives here and not at the top level.
    redisOptions: { maxRetriesPerRequest, ...security },
    // Over TLS the certificate names the host as REDIS_CLUSTER_NODES writes it: connect to
    // that name instead of the address ioredis would otherwise resolve it to first.
    ...(security.tls
      ? {
          dnsLookup: (address: string, callback: (err: null, address: string) => void) =>
            callback(null, address),
        }
      : {}),
  };
}

function tlsOptions(tls: NonNullable<Config['redisTls']>): ConnectionOptions {
  return {
    ...(tls.ca ? { ca: [tls.ca] } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key } : {}),
  };
}

function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}

/** QUIT when connected; otherwise stop the reconnect loop, which QUIT alone would leave running. */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      outages.get(client)?.closedByUs(client);
      return;
    } catch {
      // fall through: the connection went away while quitting
    }
  }
  disconnectRedis(client);
}

/**
 * Cuts a connection now, and the copies BullMQ made of it for its workers: no reconnect
 * timer is left, and the commands waiting for Redis fail instead of waiting on.
 */
export function disconnectRedis(client: RedisClient): void {
  for (const copy of copies.get(client) ?? []) disconnectRedis(copy);
  if (client.status === 'end') return;
  const waiting = client.status === 'reconnecting';
  client.disconnect();
  // Gone for us now, whenever ioredis gets to saying so.
  outages.get(client)?.closedByUs(client);
  // ioredis 5.11 leaves a client that was between reconnect attempts as it is: still
  // 'reconnecting', its queued commands pending for ever (redis/ioredis#2169). One more
  // attempt, now marked as closed by us, ends it and fails them.
  if (waiting && (client.status as string) !== 'end') client.connect().catch(() => undefined);
}

/** The copies `duplicate()` made of a connection (BullMQ's blocking connections of its workers). */
const copies = new WeakMap<RedisClient, Set<RedisClient>>();

function watch(client: RedisClient, kind: ConnectionKind, outage: RedisOutage): void {
  outages.set(client, outage);
  outage.opened(client);
  client.on('error', (err: Error) => outage.failed(client, err, kind));
  // A cluster reports a node it lost here; the cluster as a whole is down only on 'error'.
  if (client instanceof Cluster) client.on('node error', (err: Error) => outage.counted(err));
  client.on('reconnecting', () => outage.retrying());
  client.on('ready', () => outage.recovered(client));
  // A cluster that stayed 'ready' through a failed slots refresh has no 'ready' to say it is back.
  if (client instanceof Cluster)
    client.on('refresh', () => client.status === 'ready' && outage.recovered(client));
  client.on('end', () => outage.closed(client));
  // A BullMQ worker duplicates the connection it is given for its blocking reads; those
  // copies report to the same outage and are cut with the original.
  const duplicate = client.duplicate.bind(client) as (...args: unknown[]) => RedisClient;
  const own = new Set<RedisClient>();
  copies.set(client, own);
  client.duplicate = ((...args: unknown[]) => {
    const copy = duplicate(...args);
    watch(copy, kind, outage);
    own.add(copy);
    return copy;
  }) as typeof client.duplicate;
}

/** One per logger, i.e. per bot: all its connections see the same Redis, so they share one outage. */
const byLogger = new WeakMap<Logger, RedisOutage>();
const outages = new WeakMap<RedisClient, RedisOutage>();

function outageOf(logger: Logger): RedisOutage {
  let outage = byLogger.get(logger);
  if (!outage) byLogger.set(logger, (outage = new RedisOutage(logger)));
  return outage;
}

/** The outage record the connections made by `connectRedis` (and their copies) report to. */
export function redisOutageOf(client: RedisClient): RedisOutage | undefined {
  return outages.get(client);
}

const CREDENTIALS_REFUSED = /^(WRONGPASS|NOAUTH|NOPERM)\b/;

/** A cluster's "Failed to refresh slots cache." says why only in the error of the last node it tried. */
function causeOf(err: Error): Error | undefined {
  const cause = (err as Error & { lastNodeError?: unknown }).lastNodeError;
  return cause instanceof Error ? cause : undefined;
}

/**
 * Redis being away, told once: ioredis repeats its error on every reconnect attempt of
 * every connection, and BullMQ passes each on to every worker. The first error opens the
 * outage with one line; it ends with one more line, with how many errors and reconnect
 * attempts it took, when every connection that failed is ready again, or when they are
 * all closed (a shutdown during the outage).
 */
export class RedisOutage {
  private readonly open = new Set<RedisClient>();
  private readonly down = new Set<RedisClient>();
  private readonly gone = new WeakSet<RedisClient>();
  /** A worker re-emits its connection's error: the same object counts once. */
  private readonly seen = new WeakSet<Error>();
  private since?: number;
  private errors = 0;
  private retries = 0;

  constructor(private readonly logger: Logger) {}

  get ongoing(): boolean {
    return this.since !== undefined;
  }

  opened(client: RedisClient): void {
    if (!this.gone.has(client)) this.open.add(client);
  }

  failed(client: RedisClient, err: Error, kind: ConnectionKind): void {
    // A connection we closed fails its last queued commands: nothing to report.
    if (this.gone.has(client)) return;
    this.open.add(client);
    this.down.add(client);
    if (!this.ongoing) {
      this.since = systemClock.now();
      this.errors = 0;
      this.retries = 0;
      const cause = causeOf(err);
      this.logger.warn(
        { err: cause ? `${err.message} (${cause.message})` : err.message, kind },
        CREDENTIALS_REFUSED.test((cause ?? err).message)
          ? 'redis refused the credentials (REDIS_USERNAME, REDIS_PASSWORD or those in REDIS_URL); retrying'
          : 'redis unreachable; retrying',
      );
    }
    this.counted(err);
  }

  /**
   * An error seen during the outage (a worker's, a cluster node's): counted, not logged.
   * Returns false when there is no outage, for the caller to report the error itself.
   */
  counted(err: Error): boolean {
    if (!this.ongoing) return false;
    if (!this.seen.has(err)) {
      this.seen.add(err);
      this.errors += 1;
    }
    return true;
  }

  retrying(): void {
    if (this.ongoing) this.retries += 1;
  }

  recovered(client: RedisClient): void {
    if (this.gone.has(client)) return;
    this.open.add(client);
    this.down.delete(client);
    if (this.ongoing && this.down.size === 0) this.end('redis reachable again', 'info');
  }

  /** Ended: by us, or by BullMQ, which reconnects a cluster's blocking connection that way. */
  closed(client: RedisClient): void {
    this.open.delete(client);
    this.down.delete(client);
    if (this.ongoing && this.open.size === 0) {
      this.end('redis connections closed while redis was unreachable', 'warn');
    }
  }

  /** Closed by `closeRedis` or `disconnectRedis`: it is done with, whatever it still emits. */
  closedByUs(client: RedisClient): void {
    this.gone.add(client);
    this.closed(client);
  }

  private end(message: string, level: 'info' | 'warn'): void {
    const downMs = systemClock.now() - this.since!;
    this.since = undefined;
    this.logger[level]({ errors: this.errors, retries: this.retries, downMs }, message);
  }
}
