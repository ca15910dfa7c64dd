import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { AlertmanagerClient, AlertmanagerError } from '../../src/kernel/alertmanager';
import { startSandboxAlertmanager, type SandboxAlertmanager } from '../../sandbox/alertmanager';
import { findAlertmanager } from '../../sandbox/alertmanager/debian';
import { findOnPath } from '../../sandbox/local-process';

const run = promisify(execFile);
const logger = pino({ level: 'silent' });
const DEBIAN = findAlertmanager() !== undefined;
const AMTOOL = findOnPath(['amtool']);
const HOUR = 3_600_000;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// Debian's binary when it is installed (the prerequisites install it), and the built-in one
// forced by the option; the bot's client must not be able to tell them apart.
const variants: Array<{ name: string; use: 'auto' | 'builtin'; kind: SandboxAlertmanager['kind'] }> = [
  ...(DEBIAN
    ? [
        {
          name: "Debian's prometheus-alertmanager",
          use: 'auto' as const,
          kind: 'prometheus-alertmanager' as const,
        },
      ]
    : []),
  { name: 'the built-in silences API', use: 'builtin', kind: 'built-in' },
];

describe.each(variants)('the sandbox Alertmanager: $name', ({ use, kind }) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'azora-sandbox-am-'));
  let am: SandboxAlertmanager;
  let client: AlertmanagerClient;

  beforeAll(async () => {
    am = await startSandboxAlertmanager({ dir, use, logger });
    client = new AlertmanagerClient(am.url, logger);
  }, 30_000);

  afterAll(async () => {
    await am?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** amtool against this Alertmanager, with a HOME of its own so no developer config applies. */
  const amtool = async (args: string[]): Promise<string> =>
    (
      await run(AMTOOL!, [`--alertmanager.url=${am.url}`, ...args], {
        env: { PATH: process.env.PATH, HOME: dir },
        timeout: 10_000,
      })
    ).stdout;

  it(`is ${kind} on a loopback port`, async () => {
    expect(am.kind).toBe(kind);
    expect(am.url).toBe(`http://127.0.0.1:${am.port}`);
    await expect(client.status()).resolves.toMatchObject({ cluster: 'disabled' });
    if (kind === 'prometheus-alertmanager') {
      // Single instance, its files under the sandbox folder, no gossip.
      expect(readFileSync(path.join(dir, 'alertmanager.yml'), 'utf8')).toContain('receiver: sandbox-none');
      expect(existsSync(path.join(dir, 'data'))).toBe(true);
      expect(alive(am.pid!)).toBe(true);
    }
  });

  it("accepts a silence from the bot's client and expires it", async () => {
    const matchers = { alertname: 'AzoraServiceDown', namespace: 'azora-production', service: 'payment' };
    const before = Date.now();
    const created = await client.createSilence({
      matchers,
      durationMs: HOUR,
      createdBy: 'slack:U0APPROVER1',
      comment: 'Silenced from Slack for 1h (AzoraServiceDown)',
    });
    expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(Date.parse(created.endsAt) - before).toBeGreaterThanOrEqual(HOUR);

    const listed = (await client.listSilences()).find((s) => s.id === created.id);
    expect(listed).toMatchObject({
      status: { state: 'active' },
      createdBy: 'slack:U0APPROVER1',
      comment: 'Silenced from Slack for 1h (AzoraServiceDown)',
    });
    expect(Date.parse(listed!.endsAt)).toBe(Date.parse(created.endsAt));
    expect(listed!.matchers).toEqual(
      expect.arrayContaining(
        Object.entries(matchers).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true })),
      ),
    );
    const one = await fetch(`${am.url}/api/v2/silence/${created.id}`);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ id: created.id, status: { state: 'active' } });

    await client.expireSilence(created.id);
    const expired = (await client.listSilences()).find((s) => s.id === created.id);
    expect(expired!.status.state).toBe('expired');
    expect(Date.parse(expired!.endsAt)).toBeLessThanOrEqual(Date.now());
    // A retried Expire click stays harmless.
    await expect(client.expireSilence(created.id)).resolves.toBeUndefined();
  });

  it('answers unknown and malformed silence ids as Alertmanager 0.25 does', async () => {
    const unknown = await client
      .expireSilence('00000000-0000-0000-0000-000000000000')
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(AlertmanagerError);
    expect(unknown).toMatchObject({ kind: 'not-found', transient: false });
    const notUuid = await client.expireSilence('nope').catch((e: unknown) => e);
    expect(notUuid).toMatchObject({ kind: 'not-found', transient: false });
    const res = await fetch(`${am.url}/api/v2/silence/00000000-0000-0000-0000-000000000000`);
    expect(res.status).toBe(404);
  });

  (AMTOOL ? it : it.skip)('lists and filters its silences for amtool', async () => {
    const created = await client.createSilence({
      matchers: { alertname: 'AzoraHighLatencyP95', namespace: 'azora-production' },
      durationMs: HOUR,
      createdBy: 'slack:U0APPROVER2',
      comment: 'amtool',
    });
    const query = JSON.parse(
      await amtool(['silence', 'query', '--output=json', 'alertname=AzoraHighLatencyP95']),
    ) as Array<{ id: string; status: { state: string } }>;
    expect(query).toEqual([expect.objectContaining({ id: created.id, status: { state: 'active' } })]);
    expect(await amtool(['silence', 'query', '--quiet', 'alertname=AzoraNoSuchAlert'])).toBe('');

    await amtool(['silence', 'expire', created.id]);
    expect(await amtool(['silence', 'query', '--expired', '--quiet'])).toContain(created.id);
    expect(await amtool(['silence', 'query', '--quiet'])).not.toContain(created.id);
  });

  it('stops when the sandbox stops', async () => {
    const { pid } = am;
    await am.stop();
    await expect(fetch(`${am.url}/-/ready`)).rejects.toThrow();
    if (pid !== undefined) expect(alive(pid)).toBe(false);
  });
});
