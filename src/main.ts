#!/usr/bin/env node
import { loadConfig } from './config/env';
import { ConfigError } from './config/errors';
import { loadPolicy } from './config/policy';
import { createLogger } from './kernel/log';
import { startBot, type Role } from './runtime';
import type { Sandbox } from '../sandbox';

const ROLES: readonly Role[] = ['web', 'worker', 'all'];
const USAGE = 'usage: azora-chatops [web|worker|all]';

async function main(argv: string[]): Promise<number> {
  const role = (argv[0] ?? 'all') as Role;
  if (!ROLES.includes(role) || argv.length > 1) throw new ConfigError(USAGE);
  // Listen before starting: a pod can be told to stop while it is still starting up.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const config = loadConfig(process.env);
  const policy = loadPolicy(config.policyPath);
  const logger = createLogger(config.logLevel);
  // A library promise that rejects unobserved (BullMQ failing to record a failure while
  // Redis is away) must not take the whole process down with it.
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled rejection');
  });

  let sandbox: Sandbox | undefined;
  if (!config.slack) {
    // Loaded only when used: a deployed bot does not carry the simulators in memory.
    const { startSandbox } = await import('../sandbox');
    sandbox = await startSandbox({ config, policy, logger, env: process.env });
  }
  const bot = await startBot({
    role,
    config: sandbox?.config ?? config,
    slack: sandbox?.slack ?? config.slack!,
    policy: sandbox?.policy ?? policy,
    logger,
    ...(sandbox ? { loadKubeConfig: sandbox.loadKubeConfig, extraRoutes: sandbox.routes } : {}),
  }).catch(async (err: unknown) => {
    // The sandbox's own redis-server and simulators must not outlive a failed start.
    await sandbox?.stop();
    throw err;
  });
  logger.info({ role, url: bot.web?.url, policy: config.policyPath }, 'azora-chatops started');
  if (sandbox && bot.web) process.stdout.write(`${sandbox.banner(bot.web.port)}\n`);

  const signal = await stopSignal;
  logger.info({ signal }, 'shutting down: finishing running jobs');
  // bot.stop gives up on Redis a second after SHUTDOWN_TIMEOUT; should anything else still
  // hold on after that, the process goes all the same, its jobs left to stall recovery.
  setTimeout(() => {
    logger.error({ shutdownTimeoutMs: config.shutdownTimeoutMs }, 'shutdown overran; exiting');
    process.exit(1);
  }, config.shutdownTimeoutMs + 5_000).unref();
  // Open browser tabs hold live streams; ended first, they cannot hold the HTTP server open.
  sandbox?.closeStreams();
  const { drained } = await bot.stop();
  await sandbox?.stop();
  logger.info({ drained }, drained ? 'stopped cleanly' : 'stopped; unfinished jobs return to the queue');
  return drained ? 0 : 1;
}

main(process.argv.slice(2)).then(
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
