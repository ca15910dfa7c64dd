import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registerCommand } from '../../handlers/command';
import { healthRoutes } from '../../handlers/health';
import type { SlackCredentials } from '../config/env';
import type { Policy } from '../config/policy';
import type { Vocabulary } from '../domain/commands/types';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { Queues } from '../queue/queues';
import type { RedisClient } from '../redis';
import type { SlackIdentity } from './slack-client';
import { slackLogger } from './slack-logger';

export interface WebDeps {
  slack: SlackCredentials;
  identity: SlackIdentity;
  slackApiUrl?: string;
  port: number;
  policy: Policy;
  logger: Logger;
  metrics: Metrics;
  redis: RedisClient;
  queues: Queues;
}

export interface WebServer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

export function vocabularyOf(policy: Policy): Vocabulary {
  return {
    environments: Object.keys(policy.environments) as Vocabulary['environments'],
    services: Object.keys(policy.services),
  };
}

/** The web role: Bolt's HTTP receiver for Slack, plus health and metrics on the same port. */
export async function startWeb(deps: WebDeps): Promise<WebServer> {
  const logger = slackLogger(deps.logger);
  const receiver = new HTTPReceiver({
    signingSecret: deps.slack.signingSecret,
    customRoutes: healthRoutes(deps),
    logger,
    logLevel: LogLevel.WARN,
  });
  const app = new App({
    token: deps.slack.botToken,
    // Known from the start-up check, so Bolt makes no auth.test call of its own that could reject unobserved.
    botId: deps.identity.botId,
    botUserId: deps.identity.botUserId,
    receiver,
    logger,
    clientOptions: { ...(deps.slackApiUrl ? { slackApiUrl: deps.slackApiUrl } : {}), logger },
  });
  app.error(async (err) => {
    deps.logger.error({ err: err.message, code: err.code }, 'slack handler failed');
  });
  registerCommand(app, { vocabulary: vocabularyOf(deps.policy), metrics: deps.metrics });

  const server = (await app.start(deps.port)) as Server;
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      server.closeIdleConnections();
      await app.stop();
    },
  };
}
