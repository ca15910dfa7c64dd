import { App, HTTPReceiver, LogLevel, type CustomRoute } from '@slack/bolt';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registerCommand } from '../../handlers/command';
import { healthRoutes } from '../../handlers/health';
import type { SlackCredentials } from '../config/env';
import { registerActions } from '../../handlers/actions';
import { alertmanagerRoute } from '../../handlers/alertmanager';
import type { RedisClient } from '../kernel/redis';
import type { CoreDeps } from '../deps';
import type { SlackIdentity } from '../kernel/slack/client';
import { answerUnprocessable, guardSlackEndpoint, SLACK_BODY_LIMIT } from './slack-gate';
import { slackLogger } from '../kernel/slack/logger';

export interface WebDeps {
  slack: SlackCredentials;
  identity: SlackIdentity;
  slackApiUrl?: string;
  port: number;
  redis: RedisClient;
  services: CoreDeps;
  alertmanagerToken?: string;
  extraRoutes?: CustomRoute[];
}

export interface WebServer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** The web role: Bolt's HTTP receiver for Slack, plus health and metrics on the same port. */
export async function startWeb(deps: WebDeps): Promise<WebServer> {
  const { services } = deps;
  const logger = slackLogger(services.logger);
  const endpoints = ['/slack/events'];
  const receiver = new HTTPReceiver({
    signingSecret: deps.slack.signingSecret,
    endpoints,
    bodyLimit: SLACK_BODY_LIMIT,
    customRoutes: [
      ...healthRoutes({ redis: deps.redis, metrics: services.metrics }),
      alertmanagerRoute(services, deps.alertmanagerToken),
      ...(deps.extraRoutes ?? []),
    ],
    logger,
    logLevel: LogLevel.WARN,
    // Bolt failing on a body it let through answers 400: a 500 would make Slack send it again.
    processEventErrorHandler: answerUnprocessable(services.logger),
  });
  const app = new App({
    token: deps.slack.botToken,
    // Known from the start-up check, so Bolt makes no auth.test call of its own that could reject unobserved.
    botId: deps.identity.botId,
    botUserId: deps.identity.botUserId,
    receiver,
    logger,
    // Nothing here keeps per-conversation state; Bolt's default store would look one up,
    // and fail with a fresh Error, on every request.
    convoStore: false,
    clientOptions: { ...(deps.slackApiUrl ? { slackApiUrl: deps.slackApiUrl } : {}), logger },
  });
  app.error(async (err) => {
    services.logger.error({ err: err.message, code: err.code }, 'slack handler failed');
  });
  registerCommand(app, services);
  registerActions(app, services);
  // Malformed signed bodies get 400 at once, unclaimed ones an ack at once: never a hang, never a retried 500.
  guardSlackEndpoint(receiver, app, {
    signingSecret: deps.slack.signingSecret,
    endpoints,
    bodyLimit: SLACK_BODY_LIMIT,
    logger: services.logger,
    metrics: services.metrics,
  });

  const server = (await app.start(deps.port)) as Server;
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      const stopped = app.stop();
      // Keep-alive clients (Alertmanager, load balancers) would hold the server open for ever:
      // idle connections go now, busy ones get a moment to finish their request.
      server.closeIdleConnections();
      const cutoff = setTimeout(() => server.closeAllConnections(), 2_000);
      await stopped;
      clearTimeout(cutoff);
    },
  };
}
