import { JOBS } from '../jobs';
import type { Config, SlackCredentials } from './config/env';
import type { Policy } from './config/policy';
import type { Logger } from './log';
import { createMetrics, type Metrics } from './metrics';
import { Queues } from './queue/queues';
import { startWorkers, type WorkerPool } from './queue/workers';
import { closeRedis, connectRedis, type RedisClient } from './redis';
import { checkSlackToken, createSlackClient } from './web/slack-client';
import { startWeb, type WebServer } from './web/server';

export type Role = 'web' | 'worker' | 'all';

export interface Bot {
  web?: WebServer;
  metrics: Metrics;
  queues: Queues;
  /** Graceful stop: no new HTTP requests or jobs, running jobs get `deadlineMs` to finish. */
  stop(deadlineMs?: number): Promise<{ drained: boolean }>;
}

export interface BotOptions {
  role: Role;
  config: Config;
  slack: SlackCredentials;
  policy: Policy;
  logger: Logger;
}

/** The composition root: every adapter is built here and handed to the handlers and jobs. */
export async function startBot({ role, config, slack, policy, logger }: BotOptions): Promise<Bot> {
  const metrics = createMetrics();
  const redis = connectRedis(config, 'commands', logger);
  const queues = new Queues(redis, config.redisPrefix);
  const slackClient = createSlackClient(slack.botToken, config.slackApiUrl, logger);
  const connections: RedisClient[] = [redis];
  let web: WebServer | undefined;
  let workers: WorkerPool | undefined;
  try {
    const identity = await checkSlackToken(slackClient);
    if (role !== 'worker') {
      web = await startWeb({ ...config, slack, identity, policy, logger, metrics, redis, queues });
    }
    if (role !== 'web') {
      const blocking = connectRedis(config, 'blocking', logger);
      connections.push(blocking);
      workers = await startWorkers({
        connection: blocking,
        prefix: config.redisPrefix,
        jobs: JOBS,
        services: { logger, policy, slack: slackClient },
        metrics,
      });
    }
  } catch (err) {
    await web?.stop();
    await queues.close();
    await Promise.all(connections.map(closeRedis));
    throw err;
  }

  return {
    web,
    metrics,
    queues,
    async stop(deadlineMs = config.shutdownTimeoutMs) {
      await web?.stop();
      const result = workers ? await workers.close(deadlineMs) : { drained: true };
      await queues.close();
      await Promise.all(connections.map(closeRedis));
      return result;
    },
  };
}
