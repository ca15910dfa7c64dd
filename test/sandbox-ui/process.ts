import type { ChildProcess } from 'node:child_process';
import { runBot, SANDBOX_MAIN } from '../kit/process';

export interface SandboxProcess {
  child: ChildProcess;
  /** The workspace URL from the start-up line. */
  url: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): { stdout: string; stderr: string };
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `node dist/sandbox/main.js` with no Slack credentials, as `npm start` runs it: only the
 * variables given here, so nothing from the developer's shell changes what it does.
 */
export function startSandboxProcess(env: Record<string, string>): SandboxProcess {
  // No REDIS_URL unless the test gives one: the sandbox then starts a redis-server of its own.
  const { child, exited: ended, output } = runBot({ REDIS_URL: undefined, ...env }, [], [], SANDBOX_MAIN);
  const exited = ended.then(({ code, signal }) => ({ code, signal }));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no start-up line within 30 s:\n${output().stdout}\n${output().stderr}`)),
      30_000,
    );
    const look = () => {
      const match = /open (http:\/\/\S+\/sandbox)/.exec(output().stdout);
      if (!match) return;
      clearTimeout(timer);
      child.stdout.off('data', look);
      resolve(match[1]!);
    };
    child.stdout.on('data', look);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before starting:\n${output().stdout}\n${output().stderr}`));
    });
  });
  // A start that fails is reported by whoever awaits `url`; the process can stop at any time after.
  url.catch(() => undefined);
  return {
    child,
    url,
    exited,
    output,
    async stop(graceMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      return exited;
    },
  };
}
