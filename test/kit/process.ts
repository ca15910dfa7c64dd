import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TEST_REDIS_URL } from './redis';
import { freePort } from './redis-server';
import { waitFor } from './wait';

const MAIN = path.resolve(__dirname, '../../dist/src/main.js');
/** `npm start`'s entry point: the sandbox around the same bot. */
export const SANDBOX_MAIN = path.resolve(__dirname, '../../dist/sandbox/main.js');

const DOCKERFILE = readFileSync(path.resolve(__dirname, '../../Dockerfile'), 'utf8');

/**
 * The environment the image runs the bot in (the runtime stage's `ENV` lines, read from
 * the Dockerfile): Node's flags in NODE_OPTIONS, glibc's malloc arenas, NODE_ENV.
 */
export const IMAGE_ENV: Record<string, string> = Object.fromEntries(
  [...DOCKERFILE.split(/^FROM .* AS runtime$/m)[1]!.matchAll(/^ENV (\w+)=(?:"([^"]*)"|(\S*))$/gm)].map(
    (m) => [m[1]!, m[2] ?? m[3]!],
  ),
);

/** The Node flags of the image's ENTRYPOINT (those NODE_OPTIONS may not carry): between `node` and the script. */
export const IMAGE_NODE_ARGS = (JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(DOCKERFILE)![1]!) as string[]).slice(
  1,
  -1,
);

/**
 * The built entry point as a real process, the way a container runs it, with only the
 * variables given here (a variable given as undefined is left out, e.g. REDIS_URL).
 */
export function runBot(env: NodeJS.ProcessEnv, args: string[] = [], nodeArgs: string[] = [], entry = MAIN) {
  const merged = {
    PATH: process.env.PATH,
    PORT: '0',
    LOG_LEVEL: 'warn',
    REDIS_URL: TEST_REDIS_URL,
    ...IMAGE_ENV,
    ...env,
  };
  const child = spawn(process.execPath, [...IMAGE_NODE_ARGS, ...nodeArgs, entry, ...args], {
    env: Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    stdout,
    stderr,
  }));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

export interface RunningRole {
  url: string;
  pid: number;
  /** The process's exit, with its output (runRole's processes). */
  exited?: ReturnType<typeof runBot>['exited'];
  /** SIGTERM, then the exit. */
  stop(): Promise<void>;
}

/**
 * One role of the built entry point on a port of its own, returned once its /readyz
 * answers 200 (the worker role serves it too); fails with the process's output if it exits.
 */
export async function runRole(
  role: 'web' | 'worker' | 'all',
  env: NodeJS.ProcessEnv,
  nodeArgs: string[] = [],
): Promise<RunningRole> {
  const port = await freePort();
  const bot = runBot({ ...env, PORT: String(port) }, [role], nodeArgs);
  const url = `http://127.0.0.1:${port}`;
  let ended = false;
  void bot.exited.then(() => (ended = true));
  await waitFor(
    () =>
      ended
        ? -1
        : fetch(`${url}/readyz`).then(
            (r) => r.status,
            () => 0,
          ),
    (status) => status === 200 || status === -1,
    { what: `${role} ${url}/readyz`, timeoutMs: 20_000, intervalMs: 50 },
  );
  if (ended) throw new Error(`the ${role} process exited while starting: ${bot.output().stderr}`);
  return {
    url,
    pid: bot.child.pid!,
    exited: bot.exited,
    async stop() {
      if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGTERM');
      await bot.exited;
    },
  };
}
