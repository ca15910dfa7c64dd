import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { ConfigError } from '../src/config/errors';
import { findOnPath, freePort, lastLine, portIsFree } from './local-process';

/** The sandbox's own port, so a second terminal can find it; taken, any free one will do. */
export const PREFERRED_PORT = 6390;

export interface LocalRedis {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Where `redis-server` is on PATH, or undefined. */
export function findRedisServer(searchPath = process.env.PATH ?? ''): string | undefined {
  return findOnPath(['redis-server'], searchPath);
}

/**
 * Starts a redis-server of the sandbox's own on 127.0.0.1, its files under `dir`. It keeps
 * nothing across runs: the simulated Slack and cluster start afresh each time, and requests
 * or alert threads remembered from a previous run would point at messages that no longer exist.
 */
export async function startLocalRedis(dir: string): Promise<LocalRedis> {
  const binary = findRedisServer();
  if (!binary) {
    throw new ConfigError(
      'sandbox mode needs Redis: no redis-server on PATH; install it (apt-get install redis-server) or set REDIS_URL',
    );
  }
  mkdirSync(dir, { recursive: true });
  const preferred = (await portIsFree(PREFERRED_PORT)) ? PREFERRED_PORT : await freePort();
  try {
    return await launch(binary, dir, preferred);
  } catch (err) {
    // Someone took the port between the check and the start: any free port will do.
    if (preferred !== PREFERRED_PORT) throw err;
    return launch(binary, dir, await freePort());
  }
}

async function launch(binary: string, dir: string, port: number): Promise<LocalRedis> {
  const logFile = path.join(dir, 'redis.log');
  const child = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--pidfile',
      path.join(dir, 'redis.pid'),
      '--logfile',
      logFile,
    ],
    // Its own process group: Ctrl-C in the terminal must reach only the bot, which then
    // drains its jobs while Redis is still there, and stops Redis last.
    { stdio: 'ignore', detached: true },
  );
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));
  // A last resort when the bot dies without stopping it (an uncaught error): no orphan Redis.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `redis://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(port, child, logFile, () => spawnError);
  } catch (err) {
    process.off('exit', killOnExit);
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    port,
    pid: child.pid ?? 0,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitUntilAnswering(
  port: number,
  child: ChildProcess,
  logFile: string,
  spawnError: () => Error | undefined,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const failed = spawnError();
    if (failed) throw new Error(`redis-server did not start: ${failed.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}): ${lastLine(logFile)}`);
    }
    if (await answersPing(port)) return;
    if (Date.now() > deadline) throw new Error('redis-server did not answer within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One PING over a plain socket: while it boots, refused connections are the normal answer. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
