import path from 'node:path';
import pino from 'pino';
import { ConfigError } from '../../src/config/errors';
import { defaultPolicyPath, loadPolicy } from '../../src/config/policy';
import { createLogger } from '../../src/kernel/log';
import { startSimulatedCluster } from './server';

/**
 * `npm run sandbox:cluster -- --port 6443 --kubeconfig .sandbox/kubeconfig [--policy file]`
 * Runs the simulated cluster until SIGINT/SIGTERM. Stdout gets one line (URL and kubeconfig
 * path) so scripts can read it; logs go to stderr.
 */

interface CliOptions {
  port: number;
  host: string;
  kubeconfig: string;
  policy?: string;
  readyDelayMs?: number;
  logIntervalMs?: number;
  badAfterMs?: number;
  jobRunMs?: number;
}

const USAGE =
  'usage: sandbox:cluster [--port <port>] [--host <address>] [--kubeconfig <path>] [--policy <file>] [--ready-delay-ms <ms>] [--log-interval-ms <ms>] [--bad-after-ms <ms>] [--job-run-ms <ms>]';

function parseArgs(argv: string[]): CliOptions {
  const options: CliOptions = {
    port: 0,
    host: '127.0.0.1',
    kubeconfig: path.resolve('.sandbox', 'kubeconfig'),
  };
  const number = (flag: string, value: string | undefined): number => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < 0)
      throw new ConfigError(`${flag} needs a whole number, got '${value ?? ''}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    i++;
    switch (flag) {
      case '--port':
        options.port = number(flag, value);
        break;
      case '--host':
        options.host = value ?? options.host;
        break;
      case '--kubeconfig':
        if (!value) throw new ConfigError('--kubeconfig needs a path');
        options.kubeconfig = path.resolve(value);
        break;
      case '--policy':
        if (!value) throw new ConfigError('--policy needs a file');
        options.policy = path.resolve(value);
        break;
      case '--ready-delay-ms':
        options.readyDelayMs = number(flag, value);
        break;
      case '--log-interval-ms':
        options.logIntervalMs = Math.max(1, number(flag, value));
        break;
      case '--bad-after-ms':
        options.badAfterMs = number(flag, value);
        break;
      case '--job-run-ms':
        options.jobRunMs = number(flag, value);
        break;
      default:
        throw new ConfigError(`unknown argument '${flag ?? ''}'\n${USAGE}`);
    }
  }
  return options;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const logger = createLogger(process.env.LOG_LEVEL ?? 'info', pino.destination(2));
  const cluster = await startSimulatedCluster({
    policy: loadPolicy(options.policy ?? (process.env.AZORA_POLICY || defaultPolicyPath())),
    port: options.port,
    host: options.host,
    logger,
    ...(options.readyDelayMs !== undefined ? { readyDelayMs: options.readyDelayMs } : {}),
    ...(options.logIntervalMs !== undefined ? { logIntervalMs: options.logIntervalMs } : {}),
    ...(options.badAfterMs !== undefined ? { badVersionFailAfterMs: options.badAfterMs } : {}),
    ...(options.jobRunMs !== undefined ? { jobRunMs: options.jobRunMs } : {}),
  });
  // The cluster's own alerts (a `-bad` version under traffic) go to the log: no Alertmanager here.
  cluster.onAlert((alert) => logger.warn({ alert }, `${alert.alertname} ${alert.status}`));
  await cluster.writeKubeconfig(options.kubeconfig);
  // The kubeconfig uses the https URL: kubectl sends a token only over TLS.
  process.stdout.write(
    `simulated Kubernetes API at ${cluster.httpsUrl} and ${cluster.url} (kubeconfig: ${options.kubeconfig})\n`,
  );
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping the simulated cluster');
    cluster.stop().then(
      () => logger.flush(),
      (err: unknown) => {
        logger.error({ err }, 'stopping the simulated cluster failed');
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
