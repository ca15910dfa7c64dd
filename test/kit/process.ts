import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { TEST_REDIS_URL } from './redis';

const MAIN = path.resolve(__dirname, '../../dist/src/main.js');

/**
 * The built entry point as a real process, the way a container runs it, with only the
 * variables given here (a variable given as undefined is left out, e.g. REDIS_URL).
 */
export function runBot(env: NodeJS.ProcessEnv, args: string[] = []) {
  const merged = { PATH: process.env.PATH, PORT: '0', LOG_LEVEL: 'warn', REDIS_URL: TEST_REDIS_URL, ...env };
  const child = spawn(process.execPath, [MAIN, ...args], {
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
