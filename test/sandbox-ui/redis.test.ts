import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findAlertmanager } from '../../sandbox/alertmanager/debian';
import { waitFor } from '../kit/wait';
import { startSandboxProcess } from './process';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the sandbox without REDIS_URL', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'azora-sandbox-redis-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts a redis-server of its own under the sandbox folder and stops it on exit', async () => {
    const sandbox = startSandboxProcess({ AZORA_SANDBOX_DIR: dir });
    try {
      const url = await sandbox.url;
      const ready = await fetch(new URL('/readyz', url));
      expect(ready.status).toBe(200);
      const pid = Number(readFileSync(path.join(dir, 'redis', 'redis.pid'), 'utf8'));
      expect(alive(pid)).toBe(true);
      expect(existsSync(path.join(dir, 'kubeconfig'))).toBe(true);
      // So does Debian's prometheus-alertmanager, for the bot's silences, when it is installed.
      const amPid = findAlertmanager()
        ? Number(readFileSync(path.join(dir, 'alertmanager', 'alertmanager.pid'), 'utf8'))
        : undefined;
      if (amPid !== undefined) expect(alive(amPid)).toBe(true);

      const { code } = await sandbox.stop();
      expect(code).toBe(0);
      await waitFor(
        () => alive(pid),
        (up) => !up,
        { what: 'the sandbox redis-server to stop' },
      );
      if (amPid !== undefined) {
        await waitFor(
          () => alive(amPid),
          (up) => !up,
          { what: 'the sandbox prometheus-alertmanager to stop' },
        );
      }
    } finally {
      await sandbox.stop();
    }
  }, 60_000);

  it('says in one line how to get Redis when there is no redis-server', async () => {
    const sandbox = startSandboxProcess({ AZORA_SANDBOX_DIR: dir, PATH: path.join(dir, 'no-such-bin') });
    const { code } = await sandbox.exited;
    expect(code).toBe(1);
    expect(sandbox.output().stderr.trim()).toBe(
      'azora-chatops: sandbox mode needs Redis: no redis-server on PATH; install it (apt-get install redis-server) or set REDIS_URL',
    );
    expect(sandbox.output().stdout).not.toContain('open http');
  }, 30_000);
});
