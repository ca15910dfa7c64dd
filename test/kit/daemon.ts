import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';

export interface Daemon {
  /** What it wrote to stderr so far, for a failing test's message. */
  logs(): string;
  /** Kills it and removes its directory. */
  stop(): Promise<void>;
}

export interface DaemonSpec {
  /** The binary, as on PATH (Debian's), and its arguments. */
  command: string;
  args: string[];
  /** Its temp dir, removed when it stops (or fails to start). */
  dir: string;
  /** Answers 200 once it serves: `/-/ready` for the Prometheus family. */
  readyUrl: string;
  readyWithinMs: number;
  /** Said when the binary is not on PATH: which package brings it. */
  installHint: string;
}

/**
 * Starts one of Debian's daemons for a test and resolves once it answers its readiness URL;
 * rejects, with its stderr, if it exits first, is missing, or never gets ready (and then
 * leaves nothing running or on disk).
 */
export async function startDaemon(spec: DaemonSpec): Promise<Daemon> {
  const { command } = spec;
  // Explicitly the env this module sees: under Jest that is the test's copy, not the worker's.
  const child = spawn(command, spec.args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Error>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      resolve(
        err.code === 'ENOENT'
          ? new Error(`${command} is not on PATH; ${spec.installHint}`)
          : new Error(`${command} did not start: ${err.message}`),
      ),
    );
    child.once('exit', (code, signal) =>
      resolve(new Error(`${command} exited (${signal ?? code}) before it was ready:\n${stderr}`)),
    );
  });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      const gone = once(child, 'exit');
      child.kill('SIGKILL');
      await gone;
    }
    await rm(spec.dir, { recursive: true, force: true });
  };

  const polling = new AbortController();
  try {
    await Promise.race([
      exited.then((err) => Promise.reject(err)),
      untilReady(spec, () => stderr, polling.signal),
    ]);
  } catch (err) {
    await stop();
    throw err;
  } finally {
    // Lets the poll loop end when the process died first, rather than run to its deadline.
    polling.abort();
  }
  return { logs: () => stderr, stop };
}

async function untilReady(spec: DaemonSpec, logs: () => string, stopped: AbortSignal): Promise<void> {
  const deadline = Date.now() + spec.readyWithinMs;
  while (!stopped.aborted) {
    try {
      const res = await fetch(spec.readyUrl, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(
        `${spec.command} did not answer ${spec.readyUrl} within ${spec.readyWithinMs / 1000} s:\n${logs()}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
