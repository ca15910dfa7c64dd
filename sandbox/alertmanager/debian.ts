import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findOnPath, freePort, lastLine } from '../local-process';

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
  stop(): Promise<void>;
}

/*
 * The page's alerts reach the bot as webhooks from the sandbox itself, so this Alertmanager
 * routes nothing: it is there for the bot's silences (and for amtool).
 */
const CONFIG = `# Written by the sandbox at each start. The workspace page sends its alerts to the bot's
# webhook itself; this Alertmanager holds the silences the bot makes, and notifies no one.
route:
  receiver: sandbox-none
receivers:
  - name: sandbox-none
`;

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
  writeFileSync(configFile, CONFIG);
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
