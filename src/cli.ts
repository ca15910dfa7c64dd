import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import type { CustomRoute } from '@slack/bolt';
import { loadConfig, type Config, type SlackCredentials } from './config/env';
import { ConfigError } from './config/errors';
import { loadPolicy, type Policy } from './config/policy';
import { createLogger, type Logger } from './kernel/log';
import { startBot, type Role } from './runtime';
import { systemClock } from './kernel/clock';

const ROLES: readonly Role[] = ['web', 'worker', 'all'];
const USAGE = 'usage: azora-chatops [web|worker|all]';

/** What an entry point starts the bot with, and what else it runs beside it. */
export interface Launch {
  config: Config;
  slack: SlackCredentials;
  policy: Policy;
  loadKubeConfig?: (config: KubeConfig) => void;
  extraRoutes?: CustomRoute[];
  /** Printed once the web role listens. */
  banner?(port: number): string;
  /** Called first on a stop signal (open streams that would hold the server). */
  closeStreams?(): void;
  /** Called after the bot stopped, or when it failed to start. */
  stop?(): Promise<void>;
}

export type Launcher = (base: { config: Config; policy: Policy; logger: Logger }) => Promise<Launch>;

/**
 * The process around the bot, shared by the product's entry point and the sandbox's:
 * configuration, signals, start, stop and exit codes.
 */
export function runMain(argv: string[], launcher: Launcher): void {
  main(argv, launcher).then(
    (code) => process.exit(code),
    (err: unknown) => {
      // Operators get one line they can act on; a stack trace only for what is truly unexpected.
      const line =
        err instanceof ConfigError ? `azora-chatops: ${err.message}` : `azora-chatops: ${String(err)}`;
      process.stderr.write(`${line}\n`);
      if (!(err instanceof ConfigError) && err instanceof Error && err.stack)
        process.stderr.write(`${err.stack}\n`);
      process.exit(1);
    },
  );
}

async function main(argv: string[], launcher: Launcher): Promise<number> {
  const role = (argv[0] ?? 'all') as Role;
  if (!ROLES.includes(role) || argv.length > 1) throw new ConfigError(USAGE);
  // Listen before starting: a pod can be told to stop while it is still starting up.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  const policy = loadPolicy(config.policyPath, (text) => logger.warn(text));
  // A library promise that rejects unobserved (BullMQ failing to record a failure while
  // Redis is away) must not take the whole process down with it.
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled rejection');
  });

  const launch = await launcher({ config, policy, logger });
  const starting = startBot({
    role,
    config: launch.config,
    slack: launch.slack,
    policy: launch.policy,
    logger,
    ...(launch.loadKubeConfig ? { loadKubeConfig: launch.loadKubeConfig } : {}),
    ...(launch.extraRoutes ? { extraRoutes: launch.extraRoutes } : {}),
  }).catch(async (err: unknown) => {
    // What runs beside the bot (the sandbox's redis-server and simulators) must not outlive a failed start.
    await launch.stop?.();
    throw err;
  });
  // A start waits for Redis as long as it takes. A stop asked meanwhile gives it what a
  // stop gives running jobs: a start that ends by then is stopped as usual; one still
  // waiting ends the process (a job a worker may have begun returns to the queue once its
  // lock lapses).
  const first = await Promise.race([starting, stopSignal]);
  const signalled = typeof first === 'string';
  // Everything after a stop signal shares one SHUTDOWN_TIMEOUT, the start's wait included:
  // the pod's grace period is that and a margin, not twice that.
  let stopBy = signalled ? systemClock.now() + config.shutdownTimeoutMs : undefined;
  const bot = signalled
    ? await Promise.race([starting, sleep(config.shutdownTimeoutMs, undefined, { ref: false })])
    : first;
  if (!bot) {
    logger.warn({ signal: first }, 'stopped while starting (waiting for Redis?); exiting');
    starting.catch(() => undefined);
    launch.closeStreams?.();
    await launch.stop?.();
    return 1;
  }
  logger.info({ role, url: bot.web?.url, policy: config.policyPath }, 'azora-chatops started');
  if (launch.banner && bot.web) process.stdout.write(`${launch.banner(bot.web.port)}\n`);

  const signal = await stopSignal;
  logger.info({ signal }, 'shutting down: finishing running jobs');
  stopBy ??= systemClock.now() + config.shutdownTimeoutMs;
  const left = Math.max(0, stopBy - systemClock.now());
  // bot.stop gives up on Redis a second after its deadline; should anything else still
  // hold on after that, the process goes all the same, its jobs left to stall recovery.
  setTimeout(() => {
    logger.error({ shutdownTimeoutMs: config.shutdownTimeoutMs }, 'shutdown overran; exiting');
    process.exit(1);
  }, left + 5_000).unref();
  launch.closeStreams?.();
  const { drained } = await bot.stop(left);
  await launch.stop?.();
  logger.info({ drained }, drained ? 'stopped cleanly' : 'stopped; unfinished jobs return to the queue');
  return drained ? 0 : 1;
}
