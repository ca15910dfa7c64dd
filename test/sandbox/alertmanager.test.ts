import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { notificationSchema } from '../../src/alerts/domain/payload';
import { AlertmanagerClient, AlertmanagerError } from '../../src/kernel/alertmanager';
import { startSandboxAlertmanager, type SandboxAlertmanager } from '../../sandbox/alertmanager';
import { findAlertmanager } from '../../sandbox/alertmanager/debian';
import { pushAlerts, silencesHolding } from '../../sandbox/alertmanager/push';
import type { PushedAlert } from '../../sandbox/alerts';
import { findOnPath } from '../../sandbox/local-process';
import { RecordingWebhook } from './webhook-receiver';

const run = promisify(execFile);
const logger = pino({ level: 'silent' });
const DEBIAN = findAlertmanager() !== undefined;
const AMTOOL = findOnPath(['amtool']);
const HOUR = 3_600_000;
const TOKEN = 'webhook-token';
const PROD = 'azora-production';
const FIRING = '0001-01-01T00:00:00Z';

const alertOf = (labels: Record<string, string>, extra: Partial<PushedAlert> = {}): PushedAlert => ({
  labels,
  annotations: { summary: `${labels.alertname} on ${labels.service}` },
  startsAt: new Date(Date.now() - 60_000).toISOString(),
  generatorURL: 'http://prometheus.test/graph?g0.expr=up',
  ...extra,
});
const labelsOf = (n: { alerts: Array<{ labels: Record<string, string> }> }) => n.alerts.map((a) => a.labels);

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
  { name: 'the built-in one', use: 'builtin', kind: 'built-in' },
];

describe.each(variants)('the sandbox Alertmanager: $name', ({ use, kind }) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'azora-sandbox-am-'));
  let am: SandboxAlertmanager;
  let client: AlertmanagerClient;
  const webhook = new RecordingWebhook();

  beforeAll(async () => {
    await webhook.start();
    am = await startSandboxAlertmanager({ dir, use, logger });
    client = new AlertmanagerClient(am.url, logger);
    await am.deliverTo({ url: webhook.url, token: TOKEN });
  }, 30_000);

  afterAll(async () => {
    await am?.stop();
    await webhook.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A silence with any matchers, as amtool or Alertmanager's UI make them (the bot's client makes `=` only). */
  const silence = async (
    matchers: Array<{ name: string; value: string; isRegex: boolean; isEqual: boolean }>,
  ) => {
    const res = await fetch(`${am.url}/api/v2/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        matchers,
        startsAt: new Date().toISOString(),
        endsAt: new Date(Date.now() + HOUR).toISOString(),
        createdBy: 'amtool',
        comment: 'test',
      }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { silenceID: string }).silenceID;
  };

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
      // Single instance, its files under the sandbox folder, no gossip; the webhook receiver
      // (token included, so the file is the user's only) and the chart's grouping.
      const config = path.join(dir, 'alertmanager.yml');
      expect(readFileSync(config, 'utf8')).toContain('receiver: azora-chatops');
      expect(readFileSync(config, 'utf8')).toContain('group_by: [alertname, namespace, service]');
      expect(readFileSync(config, 'utf8')).toContain(`url: "${webhook.url}"`);
      expect(statSync(config).mode & 0o077).toBe(0);
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

  it('sends a pushed alert to its webhook receiver in the version-4 shape with the bearer token, then its resolve', async () => {
    const labels = {
      alertname: 'AzoraServiceDown',
      namespace: PROD,
      service: 'payment',
      severity: 'critical',
    };
    const alert = alertOf(labels);
    await pushAlerts(am.url, [alert]);
    const [firing] = await webhook.until('AzoraServiceDown', 1);
    expect(webhook.received.find((d) => d.body === firing)?.authorization).toBe(`Bearer ${TOKEN}`);
    // What the bot's webhook parses, with what Alertmanager puts in it.
    expect(notificationSchema.safeParse(firing).success).toBe(true);
    expect(firing).toEqual({
      version: '4',
      groupKey: `{}:{alertname="AzoraServiceDown", namespace="${PROD}", service="payment"}`,
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'azora-chatops',
      groupLabels: { alertname: 'AzoraServiceDown', namespace: PROD, service: 'payment' },
      commonLabels: labels,
      commonAnnotations: alert.annotations,
      externalURL: expect.any(String) as string,
      alerts: [
        {
          status: 'firing',
          labels,
          annotations: alert.annotations,
          startsAt: expect.any(String) as string,
          endsAt: FIRING,
          generatorURL: alert.generatorURL,
          fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) as string,
        },
      ],
    });
    expect(Date.parse(firing!.alerts[0]!.startsAt)).toBe(Date.parse(alert.startsAt));

    const endsAt = new Date().toISOString();
    await pushAlerts(am.url, [{ ...alert, endsAt }]);
    const [, resolved] = await webhook.until('AzoraServiceDown', 2);
    expect(resolved).toMatchObject({ status: 'resolved', groupKey: firing!.groupKey });
    expect(resolved!.alerts).toEqual([
      expect.objectContaining({ status: 'resolved', fingerprint: firing!.alerts[0]!.fingerprint }),
    ]);
    expect(Date.parse(resolved!.alerts[0]!.startsAt)).toBe(Date.parse(alert.startsAt));
    expect(Date.parse(resolved!.alerts[0]!.endsAt)).toBe(Date.parse(endsAt));
  });

  it('holds back an alert its silence matches (=, =~, !=, !~) and lets it out when the silence expires', async () => {
    const group = { alertname: 'AzoraHighCPU', namespace: PROD, service: 'api-gateway' };
    const held = { ...group, severity: 'warning', pod: 'api-gateway-1' };
    // In the same group, so it goes out in the very flush that holds the other back.
    const other = { ...group, severity: 'critical', pod: 'api-gateway-2' };
    const id = await silence([
      { name: 'alertname', value: 'AzoraHighCPU', isRegex: false, isEqual: true },
      { name: 'service', value: 'api-.*', isRegex: true, isEqual: true },
      { name: 'severity', value: 'critical', isRegex: false, isEqual: false },
      { name: 'pod', value: '.*-2', isRegex: true, isEqual: false },
    ]);
    // What the sandbox page asks to say "silenced by … until …".
    const holding = await silencesHolding(am.url, held);
    expect(holding.map((h) => h.id)).toEqual([id]);
    expect(Date.parse(holding[0]!.endsAt) - Date.now()).toBeGreaterThan(HOUR - 60_000);
    expect(await silencesHolding(am.url, other)).toEqual([]);

    await pushAlerts(am.url, [alertOf(held), alertOf(other)]);
    const [first] = await webhook.until('AzoraHighCPU', 1);
    // Per group, notifications go out one after the other: none before this one carried it either.
    expect(labelsOf(first!)).toEqual([other]);

    await client.expireSilence(id);
    const [, released] = await webhook.until('AzoraHighCPU', 2);
    expect(released).toMatchObject({ status: 'firing' });
    expect(labelsOf(released!)).toEqual(expect.arrayContaining([held, other]));
  });

  it('holds back the resolve of a silenced alert, as Alertmanager does', async () => {
    const group = { alertname: 'AzoraLowCacheHitRate', namespace: PROD, service: 'auth' };
    const silenced = { ...group, pod: 'auth-1' };
    const other = { ...group, pod: 'auth-2' };
    const alerts = [alertOf(silenced), alertOf(other)];
    await pushAlerts(am.url, alerts);
    const [both] = await webhook.until('AzoraLowCacheHitRate', 1);
    expect(labelsOf(both!)).toEqual(expect.arrayContaining([silenced, other]));

    await silence([
      { name: 'alertname', value: 'AzoraLowCacheHitRate', isRegex: false, isEqual: true },
      { name: 'pod', value: 'auth-1', isRegex: false, isEqual: true },
    ]);
    const endsAt = new Date().toISOString();
    await pushAlerts(
      am.url,
      alerts.map((a) => ({ ...a, endsAt })),
    );
    const [, resolved] = await webhook.until('AzoraLowCacheHitRate', 2);
    // The group is all resolved, and the bot hears it of the alert no silence holds only.
    expect(resolved).toMatchObject({ status: 'resolved' });
    expect(labelsOf(resolved!)).toEqual([other]);
  });

  it("refuses bad alerts with Alertmanager 0.25's answers", async () => {
    const post = async (body: string) => {
      const res = await fetch(`${am.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      return { status: res.status, body: (await res.json()) as unknown };
    };
    expect(await post('{}')).toEqual({
      status: 400,
      body: {
        code: 400,
        message:
          'parsing alerts body from "" failed, because json: cannot unmarshal object into Go value of type models.PostableAlerts',
      },
    });
    expect(await post('[{}]')).toEqual({
      status: 422,
      body: { code: 602, message: '0.labels in body is required' },
    });
    expect(await post('[{"labels":{}}]')).toEqual({ status: 400, body: 'at least one label pair required' });
    expect(await post('[{"labels":{"1a":"b"}}]')).toEqual({
      status: 400,
      body: 'invalid label set: invalid name "1a"',
    });
    expect(
      await post('[{"labels":{"a":"b"},"startsAt":"2026-01-02T00:00:00Z","endsAt":"2026-01-01T00:00:00Z"}]'),
    ).toEqual({ status: 400, body: 'start time must be before end time' });
  });

  it('stops when the sandbox stops', async () => {
    const { pid } = am;
    await am.stop();
    await expect(fetch(`${am.url}/-/ready`)).rejects.toThrow();
    if (pid !== undefined) expect(alive(pid)).toBe(false);
  });
});
