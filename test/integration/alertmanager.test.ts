import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { AlertmanagerClient, AlertmanagerError } from '../../src/kernel/alertmanager';
import { startAlertmanager, type TestAlertmanager } from '../kit/alertmanager';
import { freePort } from '../kit/redis-server';
import { waitFor } from '../kit/wait';

const TOKEN = 'am-webhook-test-token';

interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
}

interface Webhook {
  version: string;
  groupKey: string;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  truncatedAlerts: number;
  alerts: WebhookAlert[];
}

interface Delivery {
  at: number;
  headers: IncomingHttpHeaders;
  body: Webhook;
  answered: number;
}

/** Stands in for the bot's webhook: records every delivery, answers 503 when told to. */
class Receiver {
  readonly deliveries: Delivery[] = [];
  private readonly failures = new Map<string, number>();
  private server?: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString()));
      req.on('end', () => {
        const body = JSON.parse(raw) as Webhook;
        const alertname = body.groupLabels.alertname ?? '';
        const left = this.failures.get(alertname) ?? 0;
        const answered = left > 0 ? 503 : 200;
        if (left > 0) this.failures.set(alertname, left - 1);
        this.deliveries.push({ at: Date.now(), headers: req.headers, body, answered });
        res.statusCode = answered;
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/alertmanager`;
  }

  failNext(alertname: string, times: number): void {
    this.failures.set(alertname, times);
  }

  of(alertname: string): Delivery[] {
    return this.deliveries.filter((d) => d.body.groupLabels.alertname === alertname);
  }

  async until(alertname: string, count: number, timeoutMs = 5_000): Promise<Delivery[]> {
    return waitFor(
      () => this.of(alertname),
      (list) => list.length >= count,
      { timeoutMs, intervalMs: 20, what: `${count} webhook(s) for ${alertname}` },
    );
  }

  async stop(): Promise<void> {
    // Alertmanager keeps its connections alive; close() alone would wait for them.
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("Debian's Alertmanager 0.25 against a stand-in webhook", () => {
  const receiver = new Receiver();
  let am: TestAlertmanager;
  let client: AlertmanagerClient;

  beforeAll(async () => {
    await receiver.start();
    am = await startAlertmanager({ webhookUrl: receiver.url, webhookToken: TOKEN });
    client = new AlertmanagerClient(am.url, pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await am?.stop();
    await receiver.stop();
  });

  it('delivers a fired alert as a version-4 webhook with the bearer token, then its resolve', async () => {
    const labels = { alertname: 'HighErrorRate', namespace: 'azora-production', service: 'payment' };
    const annotations = { summary: 'payment 5xx above 5%', runbook_url: 'https://runbooks/payment' };
    await am.fire([{ labels: { ...labels, severity: 'critical' }, annotations }]);

    const [fired] = await receiver.until('HighErrorRate', 1);
    expect(fired!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(fired!.headers['content-type']).toBe('application/json');
    const body = fired!.body;
    expect(body).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'webhook',
      groupLabels: labels,
      commonLabels: { ...labels, severity: 'critical' },
      truncatedAlerts: 0,
    });
    // The root route has no matchers, hence `{}:`; then the group labels, sorted, ", "-joined.
    expect(body.groupKey).toBe(
      '{}:{alertname="HighErrorRate", namespace="azora-production", service="payment"}',
    );
    expect(body.alerts).toHaveLength(1);
    const alert = body.alerts[0]!;
    expect(alert).toMatchObject({
      status: 'firing',
      labels: { ...labels, severity: 'critical' },
      annotations,
    });
    // 64-bit hash of the label set, as 16 hex digits; the same alert keeps it.
    expect(alert.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    // A pushed alert without endsAt shows Go's zero time while firing, not the 5m timeout.
    expect(alert.endsAt).toBe('0001-01-01T00:00:00Z');

    await am.resolve([{ ...labels, severity: 'critical' }]);
    const [, resolved] = await receiver.until('HighErrorRate', 2);
    expect(resolved!.body).toMatchObject({ status: 'resolved', groupKey: body.groupKey });
    expect(resolved!.body.alerts[0]).toMatchObject({
      status: 'resolved',
      fingerprint: alert.fingerprint,
      annotations,
      startsAt: alert.startsAt,
    });
    expect(Date.parse(resolved!.body.alerts[0]!.endsAt)).toBeLessThanOrEqual(Date.now());
  });

  it('sends the same notification again when the receiver answers 503', async () => {
    receiver.failNext('QueueBacklog', 2);
    await am.fire([
      { labels: { alertname: 'QueueBacklog', namespace: 'azora-production', service: 'orders' } },
    ]);

    const [first, second, third] = await receiver.until('QueueBacklog', 3);
    expect([first!.answered, second!.answered, third!.answered]).toEqual([503, 503, 200]);
    expect(second!.body).toEqual(first!.body);
    expect(third!.body).toEqual(first!.body);
    // Alertmanager retries with exponential backoff (500 ms ± 50%, ×1.5 each time; measured
    // here: the first retry 0.33–0.53 s after the 503), within one flush for
    // max(group_interval, 10 s), then starts over at the next group_interval.
    await sleep(300);
    expect(receiver.of('QueueBacklog')).toHaveLength(3);
  });

  it('takes alerts from amtool alert add, and their resolve through --end', async () => {
    await am.amtool([
      'alert',
      'add',
      'alertname=DiskFilling',
      'namespace=azora-staging',
      'service=postgres-replica',
      'severity=warning',
      '--annotation=summary=disk 90% full',
    ]);
    const [fired] = await receiver.until('DiskFilling', 1);
    expect(fired!.body.alerts[0]).toMatchObject({
      status: 'firing',
      labels: { alertname: 'DiskFilling', severity: 'warning' },
      annotations: { summary: 'disk 90% full' },
    });

    await am.amtool([
      'alert',
      'add',
      'alertname=DiskFilling',
      'namespace=azora-staging',
      'service=postgres-replica',
      'severity=warning',
      '--annotation=summary=disk 90% full',
      `--end=${new Date(Date.now() - 1_000).toISOString()}`,
    ]);
    const [, resolved] = await receiver.until('DiskFilling', 2);
    expect(resolved!.body.status).toBe('resolved');
  });

  it('creates a silence that holds the alert back until it is expired', async () => {
    const matchers = { alertname: 'PodCrashLooping', namespace: 'azora-production' };
    const before = Date.now();
    const created = await client.createSilence({
      matchers,
      durationMs: 3_600_000,
      createdBy: 'U0ONCALL',
      comment: 'Silence 1h from Slack',
    });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(created.endsAt) - before).toBeGreaterThanOrEqual(3_600_000);

    const listed = (await client.listSilences()).find((s) => s.id === created.id);
    expect(listed).toMatchObject({
      status: { state: 'active' },
      createdBy: 'U0ONCALL',
      comment: 'Silence 1h from Slack',
      endsAt: created.endsAt,
    });
    expect(listed!.matchers).toEqual(
      expect.arrayContaining([
        { name: 'alertname', value: 'PodCrashLooping', isRegex: false, isEqual: true },
        { name: 'namespace', value: 'azora-production', isRegex: false, isEqual: true },
      ]),
    );
    const query = JSON.parse(
      await am.amtool(['silence', 'query', '--output=json', 'alertname=PodCrashLooping']),
    ) as { id: string; status: { state: string } }[];
    expect(query).toEqual([expect.objectContaining({ id: created.id, status: { state: 'active' } })]);

    const silenced = { alertname: 'PodCrashLooping', namespace: 'azora-production', service: 'auth' };
    const other = { alertname: 'PodCrashLooping', namespace: 'azora-staging', service: 'auth' };
    await am.fire([{ labels: silenced }, { labels: other }]);
    // The unsilenced twin fires in the same push, so its arrival means the flush happened.
    await receiver.until('PodCrashLooping', 1);
    await sleep(500);
    const delivered = receiver.of('PodCrashLooping').flatMap((d) => d.body.alerts.map((a) => a.labels));
    expect(delivered).toEqual([other]);
    const state = await waitFor(
      () => amAlert(am.url, silenced),
      (a) => a?.status.state === 'suppressed',
      { what: 'the alert marked suppressed' },
    );
    expect(state!.status.silencedBy).toEqual([created.id]);

    await client.expireSilence(created.id);
    const expired = (await client.listSilences()).find((s) => s.id === created.id);
    expect(expired!.status.state).toBe('expired');
    expect(await am.amtool(['silence', 'query', '--expired', '--quiet'])).toContain(created.id);
    // With the silence gone, the held-back alert goes out at the next group_interval.
    const [, released] = await receiver.until('PodCrashLooping', 2);
    expect(released!.body.alerts.map((a) => a.labels)).toEqual([silenced]);
    // Expiring again is not an error: a retried Slack click stays harmless.
    await expect(client.expireSilence(created.id)).resolves.toBeUndefined();
    expect(await am.amtool(['silence', 'query', '--expired', '--quiet'])).toContain(created.id);
    expect(await am.amtool(['silence', 'query', '--quiet'])).not.toContain(created.id);
  });

  it('reports the status and typed errors', async () => {
    await expect(client.status()).resolves.toMatchObject({ version: '0.25.0', cluster: 'disabled' });

    const unknown = await client
      .expireSilence('00000000-0000-0000-0000-000000000000')
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(AlertmanagerError);
    expect(unknown).toMatchObject({ kind: 'not-found', transient: false });
    expect((unknown as Error).message).toMatch(/no such silence/);

    const notUuid = await client.expireSilence('nope').catch((e: unknown) => e);
    expect(notUuid).toMatchObject({ kind: 'not-found', transient: false });

    const down = new AlertmanagerClient(`http://127.0.0.1:${await freePort()}`, pino({ level: 'silent' }));
    const refused = await down.listSilences().catch((e: unknown) => e);
    expect(refused).toMatchObject({ kind: 'unreachable', transient: true });
    expect((refused as Error).message).toMatch(/listing silences: Alertmanager at .* is unreachable/);
  });

  it('asks the next peer of a cluster when one is down or failing, and says so only when all are', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const failing = createServer((_req, res) => {
      res.statusCode = 503;
      res.end('upstream down');
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    const failingUrl = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`;
    const silent = pino({ level: 'silent' });
    const silence = {
      matchers: { alertname: 'PeerFailover' },
      durationMs: 60_000,
      createdBy: 'test',
      comment: 'x',
    };
    try {
      // A silence goes to the first peer that can be reached.
      const { id } = await new AlertmanagerClient(`${down}, ${am.url}`, silent).createSilence(silence);
      expect((await client.listSilences()).find((s) => s.id === id)?.status.state).toBe('active');

      // Reads and expiries go on past a peer that answers 5xx; a refusal is the cluster's answer.
      const peers = new AlertmanagerClient(`${down},${failingUrl},${am.url}`, silent);
      expect((await peers.listSilences()).some((s) => s.id === id)).toBe(true);
      await peers.expireSilence(id);
      expect(await peers.expireSilence('nope').catch((e: unknown) => e)).toMatchObject({ kind: 'not-found' });

      // A silence a failing peer may have made is not made again on the next one.
      const made = await client.listSilences();
      const refused = await peers.createSilence(silence).catch((e: unknown) => e);
      expect(refused).toMatchObject({ kind: 'unavailable', status: 503 });
      expect(await client.listSilences()).toHaveLength(made.length);

      const none = new AlertmanagerClient(`${down},${failingUrl}`, silent);
      const failed = await none.listSilences().catch((e: unknown) => e);
      expect(failed).toMatchObject({ kind: 'unavailable', transient: true, status: 503 });
    } finally {
      failing.closeAllConnections();
      await new Promise((resolve) => failing.close(resolve));
    }
  });

  it('calls a 5xx transient and a wrong shape not', async () => {
    let answer = { status: 503, body: 'upstream down' };
    const fake = createServer((_req, res) => {
      res.statusCode = answer.status;
      res.end(answer.body);
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const c = new AlertmanagerClient(
        `http://127.0.0.1:${(fake.address() as AddressInfo).port}`,
        pino({ level: 'silent' }),
      );
      const unavailable = await c.status().catch((e: unknown) => e);
      expect(unavailable).toMatchObject({ kind: 'unavailable', transient: true, status: 503 });
      expect((unavailable as Error).message).toContain('upstream down');

      answer = { status: 200, body: '[{"id":"x"}]' };
      const shape = await c.listSilences().catch((e: unknown) => e);
      expect(shape).toMatchObject({ kind: 'rejected', transient: false });
      expect((shape as Error).message).toMatch(/unexpected shape at 0\.matchers/);
    } finally {
      fake.closeAllConnections();
      await new Promise((resolve) => fake.close(resolve));
    }
  });
});

describe('the Alertmanager harness', () => {
  it("says to install Debian's prometheus-alertmanager when the binary is missing", async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    let outcome: TestAlertmanager | Error;
    try {
      outcome = await startAlertmanager({ webhookUrl: 'http://127.0.0.1:9/' }).catch((e: Error) => e);
    } finally {
      process.env.PATH = path;
    }
    if (!(outcome instanceof Error)) await outcome.stop();
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(/install Debian's prometheus-alertmanager/);
  });
});

interface AmAlert {
  labels: Record<string, string>;
  status: { state: string; silencedBy: string[] };
}

/** The alert as Alertmanager's own API shows it, with its suppression state. */
async function amAlert(url: string, labels: Record<string, string>): Promise<AmAlert | undefined> {
  const filter = Object.entries(labels)
    .map(([k, v]) => `filter=${encodeURIComponent(`${k}="${v}"`)}`)
    .join('&');
  const res = await fetch(`${url}/api/v2/alerts?${filter}`);
  const alerts = (await res.json()) as AmAlert[];
  return alerts[0];
}
