import type { KubeConfig } from '@kubernetes/client-node';
import type { CustomRoute } from '@slack/bolt';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Cluster } from 'ioredis';
import { connectRedis } from '../src/kernel/redis';
import type { Config, SlackCredentials } from '../src/config/env';
import type { Policy } from '../src/config/policy';
import type { Logger } from '../src/kernel/log';
import {
  alertmanagerChoice,
  startSandboxAlertmanager,
  type AlertmanagerChoice,
  type SandboxAlertmanager,
} from './alertmanager';
import { startSimulatedCluster, type SimulatedCluster } from './cluster';
import { SimulatedPagerDuty } from './pagerduty';
import { startSandboxPrometheus, type SandboxPrometheus } from './prometheus';
import { projectRoot } from './paths';
import { startLocalRedis, type LocalRedis } from './redis';
import { SIMULATED_BOT_USER, SimulatedSlack, type ChannelSeed } from './slack-api';
import { SANDBOX_USERS, sandboxPolicy, sandboxUserGroups } from './users';
import { Workspace } from './workspace/workspace';

export interface SandboxOptions {
  /** The configuration loaded from the environment; the sandbox fills in the outside systems. */
  config: Config;
  policy: Policy;
  logger: Logger;
  /** Read for what Config cannot tell: whether REDIS_URL and REDIS_PREFIX were set at all. */
  env?: NodeJS.ProcessEnv;
  /**
   * Without ALERTMANAGER_URL the sandbox runs an Alertmanager between the page's alerts and
   * the bot, which also takes the bot's silences: Debian's prometheus-alertmanager when
   * installed ('auto'), or its own ('builtin').
   * Defaults to AZORA_SANDBOX_ALERTMANAGER=builtin|auto, else 'auto'.
   */
  alertmanager?: AlertmanagerChoice;
  /**
   * How long a `-bad` version takes traffic before it fails. Defaults to
   * AZORA_SANDBOX_BAD_AFTER_MS (milliseconds), else the cluster's 10 s.
   */
  badVersionFailAfterMs?: number;
}

export interface Sandbox {
  /** What the bot runs with: simulated Slack, PagerDuty and cluster, and the sandbox's Redis. */
  config: Config;
  slack: SlackCredentials;
  /** The operator's policy with the sandbox's approvers added. */
  policy: Policy;
  simulatedSlack: SimulatedSlack;
  cluster: SimulatedCluster;
  pagerduty: SimulatedPagerDuty;
  /** The sandbox's own Alertmanager; absent when ALERTMANAGER_URL names one. */
  alertmanager?: SandboxAlertmanager;
  /** The sandbox's own Prometheus, which the alert graphs query; absent when PROMETHEUS_URL names one. */
  prometheus?: SandboxPrometheus;
  /** Where the sandbox keeps its files (kubeconfig, PagerDuty CA, Redis, Alertmanager). */
  dir: string;
  kubeconfigPath: string;
  loadKubeConfig: (config: KubeConfig) => void;
  /** The simulated workspace, served on the bot's own port. */
  routes: CustomRoute[];
  /**
   * The bot listens on `port`: the workspace sends the cluster's own alerts there, and the
   * sandbox's Alertmanager its notifications.
   */
  listening(port: number): void;
  /** The one line that tells a person where to look. */
  banner(port: number): string;
  /** Ends the workspace's live streams, which would otherwise hold the HTTP server open on stop. */
  closeStreams(): void;
  /** Stops the simulators, the sandbox's Redis and Alertmanager; call after the bot has stopped. */
  stop(): Promise<void>;
}

/** `AZORA_SANDBOX_DIR`, or `.sandbox/` in the project. */
export function sandboxDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.AZORA_SANDBOX_DIR?.trim();
  return configured ? path.resolve(configured) : path.join(projectRoot(), '.sandbox');
}

/**
 * Without Slack credentials the bot runs against simulated outside systems, with a
 * signing secret made up for this run, so every request still takes the real path.
 */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const { config, logger } = options;
  const env = options.env ?? process.env;
  const dir = sandboxDir(env);
  mkdirSync(dir, { recursive: true });
  const policy = sandboxPolicy(options.policy);
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) {
      await stop().catch((err: unknown) =>
        logger.warn({ err: (err as Error).message }, 'sandbox: stopping a simulator failed'),
      );
    }
  };

  try {
    const externalRedis = Boolean(env.REDIS_URL?.trim()) || Boolean(config.redisClusterNodes);
    let local: LocalRedis | undefined;
    if (!externalRedis) {
      local = await startLocalRedis(path.join(dir, 'redis'));
      stops.push(() => local!.stop());
    }
    // On somebody else's Redis the sandbox keeps to keys of its own and removes them when done.
    const ownPrefix = externalRedis && !env.REDIS_PREFIX?.trim();
    const redisPrefix = ownPrefix ? `{azora-sandbox-${randomBytes(4).toString('hex')}}` : config.redisPrefix;
    if (ownPrefix) stops.push(() => dropKeys(config, redisPrefix, options.logger));

    let alertmanager: SandboxAlertmanager | undefined;
    if (!config.alertmanager.url) {
      const started = await startSandboxAlertmanager({
        dir: path.join(dir, 'alertmanager'),
        use: options.alertmanager ?? alertmanagerChoice(env),
        logger,
      });
      stops.push(() => started.stop());
      alertmanager = started;
    }

    const simulatedSlack = await new SimulatedSlack({
      userGroups: sandboxUserGroups(policy),
      channels: sandboxChannels(policy),
    }).start();
    stops.push(() => simulatedSlack.stop());

    const badAfter = options.badVersionFailAfterMs ?? badAfterMs(env);
    const cluster = await startSimulatedCluster({
      policy,
      logger: logger.child({ component: 'simulated-cluster' }, { level: atLeastWarn(logger) }),
      ...(badAfter !== undefined ? { badVersionFailAfterMs: badAfter } : {}),
    });
    stops.push(() => cluster.stop());
    const kubeconfigPath = path.join(dir, 'kubeconfig');
    await cluster.writeKubeconfig(kubeconfigPath);

    // The alert graphs ask it for the simulated apps' series, unless PROMETHEUS_URL names a real one.
    let prometheus: SandboxPrometheus | undefined;
    if (!config.prometheus) {
      prometheus = await startSandboxPrometheus({ cluster, logger });
      stops.push(() => prometheus!.stop());
    }

    const pagerduty = await new SimulatedPagerDuty().start();
    stops.push(() => pagerduty.stop());
    const caFile = await pagerduty.writeCa(path.join(dir, 'pagerduty-ca.pem'));

    const slack = { botToken: simulatedSlack.botToken, signingSecret: randomBytes(24).toString('hex') };
    const webhookToken = config.alertmanager.webhookToken ?? randomBytes(24).toString('hex');
    const workspace = new Workspace({
      slack: simulatedSlack,
      signingSecret: slack.signingSecret,
      alertmanagerToken: webhookToken,
      policy,
      logger,
      ...(alertmanager ? { alertmanager } : {}),
      ...(prometheus ? { prometheus } : {}),
    });
    stops.push(async () => workspace.close());
    /** The bot listens on `port`: the sandbox's Alertmanager notifies its webhook there from now on. */
    const botListens = (port: number) => {
      workspace.setBotPort(port);
      alertmanager
        ?.deliverTo({ url: `http://127.0.0.1:${port}/alertmanager`, token: webhookToken })
        .catch((err: unknown) =>
          logger.warn(
            { err: (err as Error).message },
            "sandbox: Alertmanager cannot reach the bot's webhook",
          ),
        );
    };
    // A `-bad` version failing under traffic raises the guide's AzoraHighErrorRate in the
    // cluster; the workspace posts it to the bot's real /alertmanager itself, not through
    // the sandbox's Alertmanager as the menu's alerts go.
    const unsubscribe = cluster.onAlert((alert) => void workspace.clusterAlert(alert));
    stops.push(async () => unsubscribe());
    if (config.port > 0) botListens(config.port);

    logger.info(
      {
        dir,
        redis: local ? `own redis-server on port ${local.port}` : 'REDIS_URL',
        prefix: redisPrefix,
        alertmanager: alertmanager ? `${alertmanager.kind} on port ${alertmanager.port}` : 'ALERTMANAGER_URL',
        prometheus: prometheus ? `built-in on port ${prometheus.port}` : 'PROMETHEUS_URL',
      },
      'no Slack credentials: sandbox mode',
    );
    return {
      config: {
        ...config,
        slackApiUrl: simulatedSlack.apiUrl,
        ...(local ? { redisUrl: local.url, redisClusterNodes: undefined } : {}),
        redisPrefix,
        pagerduty: {
          routingKey: pagerduty.routingKey,
          apiToken: pagerduty.apiToken,
          fromEmail: pagerduty.fromEmail,
          eventsUrl: pagerduty.eventsUrl,
          apiUrl: pagerduty.apiUrl,
          caFile,
        },
        alertmanager: {
          ...config.alertmanager,
          ...(alertmanager ? { url: alertmanager.url } : {}),
          webhookToken,
        },
        ...(prometheus ? { prometheus: { url: prometheus.url } } : {}),
      },
      slack,
      policy,
      simulatedSlack,
      cluster,
      pagerduty,
      ...(alertmanager ? { alertmanager } : {}),
      ...(prometheus ? { prometheus } : {}),
      dir,
      kubeconfigPath,
      loadKubeConfig: (kc) => kc.loadFromFile(kubeconfigPath),
      routes: workspace.routes(),
      listening: botListens,
      banner(port) {
        const namespace = policy.environments.production?.namespace ?? 'azora-production';
        return (
          `azora-chatops sandbox: open http://localhost:${port}/sandbox ` +
          `(kubectl --kubeconfig ${displayPath(kubeconfigPath)} get deploy -n ${namespace})`
        );
      },
      closeStreams: () => workspace.close(),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * The policy's channels, as they exist in the sandbox's workspace: everyone is in them, the
 * bot included, and their names are taken (conversations.create answers `name_taken`).
 */
function sandboxChannels(policy: Policy): ChannelSeed[] {
  const members = [SIMULATED_BOT_USER, ...SANDBOX_USERS.map((u) => u.id)];
  const ids = new Set<string>();
  return Object.entries(policy.channels).flatMap(([name, id]) => {
    if (ids.has(id)) return [];
    ids.add(id);
    return [{ id, name, members }];
  });
}

/** AZORA_SANDBOX_BAD_AFTER_MS: a whole number of milliseconds; anything else is the default. */
function badAfterMs(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.AZORA_SANDBOX_BAD_AFTER_MS?.trim();
  if (!raw || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/** The simulated cluster's own chatter (its start, its controller) would drown the bot's log lines. */
function atLeastWarn(logger: Logger): string {
  const { values } = logger.levels;
  return (values[logger.level] ?? 0) >= (values.warn ?? 40) ? logger.level : 'warn';
}

/** Short when it is below the working directory, so the line can be pasted as it is. */
function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

async function dropKeys(config: Config, prefix: string, logger: Logger): Promise<void> {
  // The bot's own connection settings: credentials and TLS apply to the clean-up too.
  const client = connectRedis(config, 'commands', logger);
  try {
    // A cluster client knows its nodes only once connected.
    if (client instanceof Cluster) await client.ping();
    const nodes = client instanceof Cluster ? client.nodes('master') : [client];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        // One hash tag, one slot: the keys of a node can go in one command.
        if (keys.length > 0) await node.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
  } finally {
    client.disconnect();
  }
}
