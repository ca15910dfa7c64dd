import { App, HTTPReceiver, LogLevel, type CustomRoute, type Receiver } from '@slack/bolt';
import type { Logger as SlackLogger } from '@slack/logger';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registerCommand } from '../../handlers/command';
import { healthRoutes, NotReady, type ReadinessChecks } from '../../handlers/health';
import type { SlackCredentials } from '../config/env';
import { approvalClicks } from '../../handlers/approval';
import { switchBackClick } from '../../handlers/switch-back';
import { alertClicks } from '../../handlers/alert-actions';
import { runbookClicks } from '../../handlers/runbook-actions';
import { closeWindowClick } from '../../handlers/close-window';
import { declareFromAlert } from '../../handlers/declare-incident';
import { graphClick } from '../../handlers/graph';
import { registerViews } from '../../handlers/confirm-restore';
import { registerReactions } from '../../handlers/reactions';
import { alertmanagerRoute } from '../../handlers/alertmanager';
import type { RedisClient } from '../kernel/redis';
import type { CoreDeps } from '../deps';
import type { SlackIdentity } from '../kernel/slack/client';
import { keepIdleConnections } from '../kernel/http/keep-alive';
import { ackUnclaimed, answerUnprocessable, guardSlackEndpoint, SLACK_BODY_LIMIT } from './slack-gate';
import { slackLogger } from '../kernel/slack/logger';
import { startOpsServer } from './ops-server';
import { listenError } from '../kernel/http/listen-error';
import { connectSocket, createSocketReceiver, disconnectSocket, guardSocket } from './socket-mode';
import { registerActions } from './actions';
import type { ClickHandler } from './click';
import type { ActionKind } from '../kernel/slack/actions';

export interface WebDeps {
  slack: SlackCredentials;
  /** Undefined when Slack could not be reached at start. */
  identity: SlackIdentity | undefined;
  slackApiUrl?: string;
  port: number;
  redis: RedisClient;
  redisPrefix: string;
  deps: CoreDeps;
  alertmanagerToken?: string;
  extraRoutes?: CustomRoute[];
  /** More of /readyz: the worker's cluster check, when this process runs both roles. */
  readiness?: ReadinessChecks;
}

export interface WebServer {
  port: number;
  url: string;
  /** How Slack reaches this process: signed HTTP requests, or the Socket Mode WebSocket it opened. */
  slackTransport: 'http' | 'socket';
  stop(): Promise<void>;
}

/**
 * The web role: Slack (over HTTP, or over Socket Mode when the credentials carry an app
 * token), plus the Alertmanager webhook, health and metrics on the HTTP port either way.
 */
export function startWeb(web: WebDeps): Promise<WebServer> {
  return web.slack.appToken !== undefined
    ? startSocketMode(web, web.slack.appToken)
    : startHttp(web, web.slack.signingSecret);
}

/**
 * The routes served on the HTTP port whatever the transport; `slackSocket` joins /readyz
 * in Socket Mode. The webhook comes first: Bolt's receiver compiles each custom route's
 * pattern on every request, in order, until one matches, and a storm sends it hundreds a
 * second where the probes send one every few seconds.
 */
function opsRoutes(web: WebDeps, slackSocket?: () => Promise<void>): CustomRoute[] {
  const { deps: core } = web;
  return [
    alertmanagerRoute(core, web.alertmanagerToken),
    ...healthRoutes({
      redis: web.redis,
      prefix: web.redisPrefix,
      metrics: core.metrics,
      checks: () => ({ ...web.readiness?.(), ...(slackSocket ? { slackSocket } : {}) }),
    }),
    ...(web.extraRoutes ?? []),
  ];
}

/** Which handler answers which button: every kind of ACTION_KINDS, each to one handler. */
function buttons(core: CoreDeps): Record<ActionKind, ClickHandler> {
  return {
    ...approvalClicks(core),
    'switch-back': (click) => switchBackClick(core, click),
    ...alertClicks(core),
    ...runbookClicks(core),
    'close-window': (click) => closeWindowClick(core, click),
    'declare-incident': (click) => declareFromAlert(core, click),
    graph: (click) => graphClick(core, click),
  };
}

/** The Bolt app with the bot's listeners, on either receiver. */
function boltApp(web: WebDeps, receiver: Receiver, logger: SlackLogger): App {
  const { deps: core } = web;
  const app = new App({
    token: web.slack.botToken,
    // Known from the start-up check, so Bolt makes no auth.test call of its own that could
    // reject unobserved (and fail every request after it). Unknown when Slack was out of
    // reach at start: Bolt needs them only to ignore the bot's own events, and the one
    // event the bot takes (a reaction) is never the bot's: it adds none.
    botId: web.identity?.botId ?? '',
    botUserId: web.identity?.botUserId ?? '',
    receiver,
    logger,
    // Nothing here keeps per-conversation state; Bolt's default store would look one up,
    // and fail with a fresh Error, on every request.
    convoStore: false,
    clientOptions: { ...(web.slackApiUrl ? { slackApiUrl: web.slackApiUrl } : {}), logger },
  });
  app.error(async (err) => {
    core.logger.error({ err: err.message, code: err.code }, 'slack handler failed');
  });
  registerCommand(app, core);
  registerActions(app, core, buttons(core));
  registerViews(app, core);
  registerReactions(app, core);
  return app;
}

async function startHttp(web: WebDeps, signingSecret: string): Promise<WebServer> {
  const { deps: core } = web;
  const logger = slackLogger(core.logger);
  const endpoints = ['/slack/events'];
  const receiver = new HTTPReceiver({
    signingSecret,
    endpoints,
    bodyLimit: SLACK_BODY_LIMIT,
    customRoutes: opsRoutes(web),
    logger,
    logLevel: LogLevel.WARN,
    // Bolt failing on a body it let through answers 400: a 500 would make Slack send it again.
    processEventErrorHandler: answerUnprocessable(core.logger),
  });
  const app = boltApp(web, receiver, logger);
  // Malformed signed bodies get 400 at once, unclaimed ones an ack at once: never a hang, never a retried 500.
  guardSlackEndpoint(receiver, app, {
    signingSecret,
    endpoints,
    bodyLimit: SLACK_BODY_LIMIT,
    logger: core.logger,
    metrics: core.metrics,
  });

  const server = (await app.start(web.port).catch((err: unknown) => {
    throw listenError(err, web.port);
  })) as Server;
  keepIdleConnections(server);
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    slackTransport: 'http',
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

/**
 * Socket Mode: Slack's envelopes come over a WebSocket the bot opens (src/web/socket-mode.ts),
 * so nothing is signed and no Slack URL needs to be reachable; the HTTP port serves the
 * webhook, the probes and the metrics on a server of its own. With several replicas, each
 * opens its own connection and Slack hands every envelope to one of them.
 */
async function startSocketMode(web: WebDeps, appToken: string): Promise<WebServer> {
  const { deps: core } = web;
  const logger = slackLogger(core.logger);
  const socket = createSocketReceiver(
    {
      appToken,
      ...(web.slackApiUrl ? { slackApiUrl: web.slackApiUrl } : {}),
      slackLogger: logger,
      logger: core.logger,
    },
    core.now,
  );
  const app = boltApp(web, socket.receiver, logger);
  // As over HTTP: what no listener acknowledged is acknowledged once they are done.
  ackUnclaimed(app, { logger: core.logger, metrics: core.metrics });
  const guard = guardSocket(socket, app, { logger: core.logger, metrics: core.metrics });
  const slackSocket = async () => {
    const problem = socket.link.problem();
    if (problem) throw new NotReady(problem);
  };
  const ops = await startOpsServer(opsRoutes(web, slackSocket), web.port, core.logger);
  try {
    await connectSocket(socket, core.logger);
  } catch (err) {
    await disconnectSocket(socket, 1_000);
    await ops.stop();
    throw err;
  }
  return {
    port: ops.port,
    url: `http://127.0.0.1:${ops.port}`,
    slackTransport: 'socket',
    stop: async () => {
      // Envelopes in hand get their ack before the socket closes; what Slack sends after
      // the close goes to another replica's connection.
      await guard.idle(3_000);
      await disconnectSocket(socket, 2_000);
      await guard.idle(2_000);
      await ops.stop();
    },
  };
}
