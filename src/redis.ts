import { Cluster, Redis } from 'ioredis';
import type { Config } from './config/env';
import type { Logger } from './log';

export type RedisClient = Redis | Cluster;

/**
 * `commands` connections fail a request after one reconnect attempt so that HTTP handlers
 * can answer 503 at once; `blocking` connections (BullMQ workers and queue events) wait
 * for Redis forever, as BullMQ requires.
 */
export type ConnectionKind = 'commands' | 'blocking';

export function connectRedis(
  config: Pick<Config, 'redisUrl' | 'redisClusterNodes'>,
  kind: ConnectionKind,
  logger: Logger,
): RedisClient {
  const maxRetriesPerRequest = kind === 'blocking' ? null : 1;
  const client: RedisClient = config.redisClusterNodes
    ? new Cluster(
        config.redisClusterNodes.map((node) => {
          const [host, port] = node.split(':');
          return { host, port: Number(port) };
        }),
        { redisOptions: { maxRetriesPerRequest } },
      )
    : new Redis(config.redisUrl, { maxRetriesPerRequest, lazyConnect: false });
  let reported = false;
  client.on('error', (err: Error) => {
    // ioredis repeats the same error on every reconnect attempt; one line per outage is enough.
    if (reported) return;
    reported = true;
    logger.warn({ err: err.message, kind }, 'redis unreachable; retrying');
  });
  client.on('ready', () => {
    if (reported) logger.info({ kind }, 'redis reachable again');
    reported = false;
  });
  return client;
}

/** QUIT when connected; otherwise stop the reconnect loop, which QUIT alone would leave running. */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // fall through: the connection went away while quitting
    }
  }
  client.disconnect();
}
