import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GROUP_BY, RECEIVER } from '../alerts';
import { findOnPath, freePort, lastLine } from '../local-process';
import type { WebhookReceiver } from './dispatcher';

/** Debian's name for it, then upstream's: the flags are the same. */
const BINARIES = ['prometheus-alertmanager', 'alertmanager'];
const READY_TIMEOUT_MS = 15_000;

/** Where an Alertmanager binary is on PATH, or undefined. */
export function findAlertmanager(searchPath = process.env.PATH ?? ''): string | undefined {
  return findOnPath(BINARIES, searchPath);
}

export interface LocalAlertmanager {
  url: string;
  port: number;
  pid: number;
  binary: string;
  /** Rewrites the config with this webhook receiver and has Alertmanager reload it. */
  deliverTo(receiver: WebhookReceiver): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The route of the chart's Alertmanager, with waits short enough for a person clicking
 * through the sandbox: a new group goes out at once, a change to one within a quarter of
 * a second. The alerts the page fires carry no end, so they fire until the page resolves
 * them rather than for Alertmanager's default five minutes. Until the bot's port is known
 * the receiver has no webhook, and what fires waits in its group.
 */
export function alertmanagerConfig(receiver?: WebhookReceiver): string {
  const webhook = receiver
    ? [
        '    webhook_configs:',
        `      - url: ${JSON.stringify(receiver.url)}`,
        '        send_resolved: true',
        '        max_alerts: 0',
        '        http_config:',
        '          authorization:',
        '            type: Bearer',
        `            credentials: ${JSON.stringify(receiver.token)}`,
      ]
    : [];
  return [
    "# Written by the sandbox at each start, and again once the bot's port is known.",
    'global:',
    '  resolve_timeout: 8760h',
    'route:',
    `  receiver: ${RECEIVER}`,
    `  group_by: [${GROUP_BY.join(', ')}]`,
    '  group_wait: 0s',
    '  group_interval: 250ms',
    '  repeat_interval: 24h',
    'receivers:',
    `  - name: ${RECEIVER}`,
    ...webhook,
    '',
  ].join('\n');
}

/**
 * Starts prometheus-alertmanager on 127.0.0.1, single instance (no gossip port), its
 * config, data and log under `dir`. Like the sandbox's redis-server it keeps nothing across
 * runs: silences from an earlier run would point at alert threads that no longer exist.
 */
export async function startLocalAlertmanager(binary: string, dir: string): Promise<LocalAlertmanager> {
  const dataDir = path.join(dir, 'data');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const configFile = path.join(dir, 'alertmanager.yml');
  // The webhook token goes in here later: readable by this user only.
  rmSync(configFile, { force: true });
  writeFileSync(configFile, alertmanagerConfig(), { mode: 0o600 });
  const logFile = path.join(dir, 'alertmanager.log');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  const log = openSync(logFile, 'w');
  const child = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Empty disables HA mode: no gossip port, and no peer wait.
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    // Its own process group, like the sandbox's redis-server: Ctrl-C reaches only the bot,
    // which stops this when it is done.
    { stdio: ['ignore', log, log], detached: true },
  );
  closeSync(log);
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));
  // A last resort when the bot dies without stopping it: no orphan Alertmanager.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const exited = () => child.exitCode !== null || child.signalCode !== null;
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (spawnError) throw new Error(`${path.basename(binary)} did not start: ${spawnError.message}`);
      if (exited()) {
        throw new Error(
          `${path.basename(binary)} exited (${child.exitCode ?? child.signalCode}): ${lastLine(logFile)}`,
        );
      }
      if (await isReady(url)) break;
      if (Date.now() > deadline) {
        throw new Error(`${path.basename(binary)} did not answer within ${READY_TIMEOUT_MS / 1000} s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (err) {
    process.off('exit', killOnExit);
    child.kill('SIGKILL');
    throw err;
  }
  // For a person (or a test) looking for the process; it has no pid file flag of its own.
  writeFileSync(path.join(dir, 'alertmanager.pid'), `${child.pid ?? ''}\n`);
  return {
    url,
    port,
    pid: child.pid ?? 0,
    binary,
    async deliverTo(receiver) {
      writeFileSync(configFile, alertmanagerConfig(receiver), { mode: 0o600 });
      const res = await fetch(`${url}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(5_000) });
      const text = await res.text();
      if (!res.ok) throw new Error(`${path.basename(binary)} refused its new config: ${text.trim()}`);
    },
    async stop() {
      process.off('exit', killOnExit);
      if (exited()) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

async function isReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
