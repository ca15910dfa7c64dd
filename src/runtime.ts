import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { CustomRoute } from '@slack/bolt';
import { systemClock, type Clock } from './kernel/clock';
import {
  maintenanceNoticeJob,
  maintenanceRecurringJob,
  RECURRING_SCHEDULER_ID,
} from './maintenance/contracts';
import { MaintenanceScheduler } from './maintenance/scheduler';
import { MaintenanceStore } from './maintenance/store';
import { AlertmanagerClient } from './kernel/alertmanager';
import { AccessDirectory } from './access/directory';
import { SlackOutbox } from './kernel/slack/outbox';
import { AlertStore } from './alerts/store';
import { AlertInbox } from './alerts/inbox';
import { SlackMessenger } from './kernel/slack/messenger';
import type { CoreDeps, Deps } from './deps';
import { AuditLog } from './kernel/audit';
import { RequestGate } from './access/gate';
import { ChangeLocks } from './requests/locks';
import { RequestStore } from './requests/store';
import { ReleaseStore } from './releases/store';
import { BackupStore } from './backups/store';
import { IncidentStore } from './incidents/store';
import { feed, fromAudit } from './incidents';
import { scheduleBackups } from './backups/schedule';
import { RunbookClaims } from './requests/runbooks';
import type { Config, SlackCredentials } from './config/env';
import type { Policy } from './config/policy';
import type { Logger } from './kernel/log';
import { createMetrics, watchShared, type Metrics } from './kernel/metrics';
import { Queues } from './kernel/queue/queues';
import { startWorkers, type WorkerPool } from './kernel/queue/workers';
import type { AlertDrain } from './alerts/drain';
import { closeRedis, connectRedis, disconnectRedis, type RedisClient } from './kernel/redis';
import { checkSlackToken, createSlackClient } from './kernel/slack/client';
import { healthRoutes } from '../handlers/health';
import { startOpsServer } from './web/ops-server';
import type { WebServer } from './web/server';

export type Role = 'web' | 'worker' | 'all';

export interface Bot {
  web?: WebServer;
  metrics: Metrics;
  queues: Queues;
  deps: CoreDeps;
  /** Graceful stop: no new HTTP requests or jobs, running jobs get `deadlineMs` to finish. */
  stop(deadlineMs?: number): Promise<{ drained: boolean }>;
}

export interface BotOptions {
  role: Role;
  config: Config;
  slack: SlackCredentials;
  policy: Policy;
  logger: Logger;
  /** How each environment's KubeConfig is loaded; by default KUBECONFIG or the pod's service account. */
  loadKubeConfig?: (config: KubeConfig) => void;
  timing?: Partial<Deps['timing']>;
  /** The bot's only clock; tests may give their own. */
  clock?: Clock;
  /** More HTTP routes on the web port (the sandbox's simulated workspace). */
  extraRoutes?: CustomRoute[];
}

/** The composition root: every adapter is built here and handed to the handlers and jobs. */
export async function startBot(options: BotOptions): Promise<Bot> {
  const { role, config, slack, policy, logger } = options;
  const clock = options.clock ?? systemClock;
  const metrics = createMetrics();
  const redis = connectRedis(config, 'commands', logger);
  // The outbox waits out a Redis outage instead of failing fast: nothing there answers an HTTP caller.
  const outboxRedis = connectRedis(config, 'blocking', logger);
  const queues = new Queues(redis, config.redisPrefix);
  const slackClient = createSlackClient(slack.botToken, config.slackApiUrl, logger);
  const maintenanceWindows = new MaintenanceStore(redis, config.redisPrefix);
  const notices = queues.get(maintenanceNoticeJob.queue);
  const maintenance = new MaintenanceScheduler(
    policy,
    maintenanceWindows,
    async (windowId, notice, delayMs) => {
      await queues.enqueue(
        maintenanceNoticeJob,
        { windowId, notice },
        { jobId: `maint-${windowId}-${notice}`, delay: Math.max(0, delayMs) },
      );
    },
    async (windowId, notice) => {
      await notices.remove(`maint-${windowId}-${notice}`);
    },
    clock.now,
  );
  const requests = new RequestStore(redis, config.redisPrefix);
  const outbox = new SlackOutbox(outboxRedis, config.redisPrefix, slackClient, logger, metrics, {
    gapMs: policy.alerts.slackGap,
    updateGapMs: policy.alerts.slackUpdateGap,
    clock,
  });
  const deps: CoreDeps = {
    policy,
    logger,
    metrics,
    slack: slackClient,
    messenger: new SlackMessenger(slackClient, outbox),
    access: new AccessDirectory(policy, slackClient, clock),
    outbox,
    ...(config.alertmanager.url
      ? { alertmanager: new AlertmanagerClient(config.alertmanager.url, logger, clock) }
      : {}),
    alerts: new AlertStore(redis, config.redisPrefix),
    alertInbox: new AlertInbox(redis, config.redisPrefix),
    maintenance,
    maintenanceWindows,
    requests,
    runbooks: new RunbookClaims(redis, config.redisPrefix, requests, policy.guards.bakeWindow, clock.now),
    locks: new ChangeLocks(redis, config.redisPrefix),
    releases: new ReleaseStore(redis, config.redisPrefix),
    backups: new BackupStore(redis, config.redisPrefix),
    incidents: new IncidentStore(redis, config.redisPrefix),
    gate: new RequestGate(redis, config.redisPrefix),
    audit: new AuditLog(redis, config.redisPrefix, logger, clock),
    queues,
    now: clock.now,
  };
  // Every audited request, decision and result also goes into the open incidents it concerns.
  deps.audit.onRecord(async (event) => {
    const botEvent = fromAudit(event);
    if (botEvent) await feed(deps, botEvent);
  });
  const connections: RedisClient[] = [redis, outboxRedis];
  let web: WebServer | undefined;
  let workers: WorkerPool | undefined;
  let drain: AlertDrain | undefined;
  let ops: { stop(): Promise<void> } | undefined;
  try {
    const identity = await checkSlackToken(slackClient);
    if (!identity) logger.warn('Slack could not be reached to check SLACK_BOT_TOKEN; starting all the same');
    // Each role loads only its own side: a worker carries no Bolt, a web process no client-node.
    // Filled by the worker's side below: in one process, /readyz answers for both roles
    // (the cluster's API where one is configured).
    let workerChecks: Record<string, () => Promise<unknown>> = {};
    if (role !== 'worker') {
      const { startWeb } = await import('./web/server');
      web = await startWeb({
        ...config,
        slack,
        identity,
        redis,
        deps,
        alertmanagerToken: config.alertmanager.webhookToken,
        extraRoutes: options.extraRoutes ?? [],
        readiness: () => workerChecks,
      });
    }
    if (role !== 'web') {
      const blocking = connectRedis(config, 'blocking', logger);
      connections.push(blocking);
      // Loaded only here: a web process never loads a processor, nor what they import.
      const { workerAdapters } = await import('./worker-adapters');
      const { JOBS, alertNotificationProcessor } = await import('../jobs');
      const { startAlertDrain } = await import('./alerts/drain');
      const { drawDigests } = await import('./alerts/notify');
      const { createGraphDeps } = await import('./graphs');
      const adapters = workerAdapters(policy, config, logger, clock, options.loadKubeConfig);
      const graphs = createGraphDeps(redis, config.redisPrefix, policy.graphs, config.prometheus);
      const jobDeps = {
        ...deps,
        ...adapters,
        graphs,
        timing: {
          rolloutDeadlineMs: 5 * 60_000,
          endpointsDeadlineMs: 60_000,
          progressEveryMs: 30_000,
          ...options.timing,
        },
      };
      workers = await startWorkers({
        connection: blocking,
        prefix: config.redisPrefix,
        jobs: JOBS,
        deps: jobDeps,
        stallMs: config.jobStallMs,
      });
      const drainConnection = connectRedis(config, 'blocking', logger);
      connections.push(drainConnection);
      drain = await startAlertDrain({
        inbox: deps.alertInbox,
        blocking: drainConnection,
        consumer: `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
        // The drain's job id is the notification's inbox entry.
        run: (notification, job) => alertNotificationProcessor(notification, { ...jobDeps, job }, job.id),
        logger,
        metrics,
        clock,
        stallMs: config.jobStallMs,
      });
      drawDigests(deps.outbox, deps.alerts);
      deps.outbox.start();
      watchShared(
        metrics,
        {
          name: 'azora_slack_outbox_pending',
          help: 'Slack writes waiting in the outbox or in flight',
        },
        () => deps.outbox.pending(),
      );
      watchShared(
        metrics,
        {
          name: 'azora_alert_inbox_waiting',
          help: 'Alertmanager notifications stored and not yet handled',
        },
        () => deps.alertInbox.size(),
      );
      if (role === 'worker' || config.clusterConfigured || options.loadKubeConfig)
        workerChecks = { kubernetes: () => adapters.kube.reachable() };
      if (role === 'worker') {
        ops = await startOpsServer(
          healthRoutes({ redis, prefix: config.redisPrefix, metrics, checks: () => workerChecks }),
          config.port,
        );
      }
      await scheduleBackups(policy, queues);
      // Idempotent: every worker upserts the same daily scheduler.
      await queues
        .get(maintenanceRecurringJob.queue)
        .upsertJobScheduler(
          RECURRING_SCHEDULER_ID,
          { pattern: '0 0 3 * * *', tz: 'UTC', immediately: true },
          { name: maintenanceRecurringJob.name, data: {} },
        );
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
    deps,
    async stop(deadlineMs = config.shutdownTimeoutMs) {
      // With Redis away any step here can wait for ever. Jobs get deadlineMs from now and
      // closing the rest a second more; then every connection is cut and the stop returns.
      const jobsDue = clock.now() + deadlineMs;
      let jobs: { drained: boolean } | undefined;
      const steps = (async () => {
        await web?.stop();
        const left = Math.max(0, jobsDue - clock.now());
        const closed = await Promise.all([workers?.close(left), drain?.close(left)]);
        jobs = { drained: closed.every((c) => c?.drained ?? true) };
        await deps.outbox.stop();
        await ops?.stop();
        await queues.close();
        await Promise.all(connections.map(closeRedis));
        return jobs;
      })();
      let cutoff: NodeJS.Timeout | undefined;
      const cut = new Promise<{ drained: boolean }>((resolve) => {
        cutoff = setTimeout(() => {
          connections.forEach(disconnectRedis);
          // What waited on Redis fails now: a moment to finish (and log) before giving up on it.
          const given = () => resolve(jobs ?? { drained: false });
          void Promise.race([steps, new Promise((done) => setTimeout(done, 250).unref())]).then(given, given);
        }, deadlineMs + 750);
      });
      try {
        return await Promise.race([steps, cut]);
      } finally {
        clearTimeout(cutoff);
      }
    },
  };
}
