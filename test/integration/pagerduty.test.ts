import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PagerDuty, type PagerDutyOptions } from '../../src/kernel/pagerduty/pagerduty';
import { PagerDutyError } from '../../src/kernel/pagerduty/errors';
import { loadConfig } from '../../src/config/env';
import { createLogger } from '../../src/kernel/log';
import { SimulatedPagerDuty, simulatedId, type SimulatedPagerDutyOptions } from '../../sandbox/pagerduty';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

const pagerDutyError = async (promise: Promise<unknown>): Promise<PagerDutyError> => {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(PagerDutyError);
    return err as PagerDutyError;
  }
  throw new Error('expected a PagerDutyError');
};

const alert = (dedupKey: string) => ({
  dedupKey,
  summary: 'HighErrorRate: payment 5xx above 5% in azora-production',
  source: 'alertmanager',
  severity: 'critical' as const,
  details: { namespace: 'azora-production', service: 'payment' },
  links: [{ href: 'https://runbooks.azora.example/payment', text: 'Runbook' }],
});

describe('the PagerDuty adapter against the simulated PagerDuty', () => {
  let dir: string;
  let sim: SimulatedPagerDuty;
  let caFile: string;
  const adapters: PagerDuty[] = [];

  /** The real adapter, configured the way main does it: from the environment. */
  const adapter = (env: Record<string, string> = sim.env(caFile), options: PagerDutyOptions = {}) => {
    const pd = new PagerDuty(loadConfig(env).pagerduty, logger, { rateLimitRetryMs: 10, ...options });
    adapters.push(pd);
    return pd;
  };

  const startSim = async (options?: SimulatedPagerDutyOptions) => {
    sim = await new SimulatedPagerDuty(options).start();
    caFile = await sim.writeCa(path.join(dir, 'pagerduty-ca.pem'));
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'azora-pagerduty-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  beforeEach(() => startSim());
  afterEach(async () => {
    for (const pd of adapters.splice(0)) pd.close();
    await sim.stop();
  });

  it('triggers an incident over HTTPS, with the dedup key, details and links', async () => {
    const pd = adapter();
    expect(pd.enabled).toBe(true);
    expect(pd.restEnabled).toBe(true);

    await expect(pd.trigger(alert('azora-grp-1'))).resolves.toBe('azora-grp-1');

    expect(sim.incident('azora-grp-1')).toMatchObject({
      status: 'triggered',
      severity: 'critical',
      title: 'HighErrorRate: payment 5xx above 5% in azora-production',
      details: { namespace: 'azora-production', service: 'payment' },
      links: [{ href: 'https://runbooks.azora.example/payment', text: 'Runbook' }],
    });
    const event = await sim.waitForEvent((e) => e.action === 'trigger', 1_000);
    expect(event).toMatchObject({ status: 202, dedupKey: 'azora-grp-1', routingKey: sim.routingKey });
  });

  it('acknowledges and resolves the incident of a dedup key', async () => {
    const pd = adapter();
    await pd.trigger(alert('azora-grp-2'));

    await expect(pd.acknowledge('azora-grp-2')).resolves.toBe('azora-grp-2');
    expect(sim.incident('azora-grp-2')?.status).toBe('acknowledged');

    await pd.resolve('azora-grp-2');
    expect(sim.incident('azora-grp-2')?.status).toBe('resolved');
    expect(sim.events.map((e) => e.action)).toEqual(['trigger', 'acknowledge', 'resolve']);
  });

  it('pages through a plain http Events URL too (a local fake, a proxy), which pdjs cannot reach', async () => {
    // No CA file: nothing here speaks TLS.
    const pd = adapter({ ...sim.env(), PAGERDUTY_EVENTS_URL: sim.apiUrl });
    await expect(pd.trigger(alert('azora-grp-http'))).resolves.toBe('azora-grp-http');
    await pd.resolve('azora-grp-http');

    expect(sim.incident('azora-grp-http')).toMatchObject({ status: 'resolved', severity: 'critical' });
    expect(sim.events.map((e) => [e.action, e.status, e.routingKey])).toEqual([
      ['trigger', 202, sim.routingKey],
      ['resolve', 202, sim.routingKey],
    ]);
    sim.failNext('/v2/enqueue', 500);
    const err = await pagerDutyError(pd.trigger(alert('azora-grp-http')));
    expect(err.transient).toBe(true);
    expect(err.message).toMatch(/500/);
  });

  it('joins a repeated trigger to the open incident, and opens a new one after a resolve', async () => {
    const pd = adapter();
    await pd.trigger(alert('azora-grp-3'));
    await pd.trigger(alert('azora-grp-3'));
    expect(sim.incidents).toHaveLength(1);
    expect(sim.incident('azora-grp-3')?.alerts).toBe(2);

    await pd.resolve('azora-grp-3');
    await pd.trigger(alert('azora-grp-3'));

    const incidents = sim.incidents.filter((i) => i.dedupKey === 'azora-grp-3');
    expect(incidents.map((i) => i.status)).toEqual(['resolved', 'triggered']);
    expect(incidents[1]!.number).not.toBe(incidents[0]!.number);
  });

  it('refuses the self-signed certificate without PAGERDUTY_CA_FILE, as a TLS problem', async () => {
    const env = sim.env();
    expect(env.PAGERDUTY_CA_FILE).toBeUndefined();
    const err = await pagerDutyError(adapter(env).trigger(alert('azora-grp-4')));

    expect(err.transient).toBe(false);
    expect(err.message).toMatch(/TLS problem/);
    expect(err.message).toMatch(/PAGERDUTY_CA_FILE/);
    expect(err.message).toContain(`trigger of 'azora-grp-4'`);
    expect(sim.events).toHaveLength(0);
  });

  it('reports a 500 as transient and an invalid event (400) as not', async () => {
    const pd = adapter();
    sim.failNext('/v2/enqueue', 500);
    const down = await pagerDutyError(pd.trigger(alert('azora-grp-5')));
    expect(down).toMatchObject({ transient: true, status: 500 });
    expect(down.message).toMatch(/Events API failed on its side \(500: Internal Server Error\)/);

    const wrongKey = adapter({ ...sim.env(caFile), PAGERDUTY_ROUTING_KEY: 'not-our-integration-key' });
    const invalid = await pagerDutyError(wrongKey.trigger(alert('azora-grp-5')));
    expect(invalid).toMatchObject({ transient: false, status: 400 });
    expect(invalid.message).toMatch(/rejected the request as invalid \(400: .*Invalid routing key\)/);
    expect(sim.events.map((e) => e.status)).toEqual([500, 400]);
    expect(sim.incidents).toHaveLength(0);
  });

  it('rides out one 429 through pdjs retries, and reports a lasting one as transient', async () => {
    const pd = adapter();
    sim.failNext('/v2/enqueue', 429, 1, { retryAfterSeconds: 7 });
    await expect(pd.trigger(alert('azora-grp-6'))).resolves.toBe('azora-grp-6');
    expect(sim.events.map((e) => e.status)).toEqual([429, 202]);

    // pdjs sends the first try and three retries, then hands over the last answer.
    sim.failNext('/v2/enqueue', 429, 4, { retryAfterSeconds: 7 });
    const limited = await pagerDutyError(pd.resolve('azora-grp-6'));
    expect(limited).toMatchObject({ transient: true, status: 429, retryAfterMs: 7_000 });
    expect(sim.incident('azora-grp-6')?.status).toBe('triggered');
  });

  it('times out a PagerDuty that does not answer, as transient', async () => {
    const pd = adapter(sim.env(caFile), { timeoutMs: 200 });
    sim.failNext('/v2/enqueue', 202, 1, { delayMs: 5_000 });
    const err = await pagerDutyError(pd.acknowledge('azora-grp-7'));
    expect(err.transient).toBe(true);
    expect(err.message).toMatch(/did not answer within 0.2 s/);
  });

  it('reports an unreachable PagerDuty as transient', async () => {
    const pd = adapter();
    await sim.stop();
    const err = await pagerDutyError(pd.trigger(alert('azora-grp-8')));
    expect(err.transient).toBe(true);
    expect(err.message).toMatch(/unreachable \(ECONNREFUSED\)/);
  });

  it('lists the on-call rota, sorted by escalation policy and level', async () => {
    await sim.stop();
    await startSim({
      oncall: [
        { name: 'Zeynep Kaya', email: 'zeynep@azora.example', escalationPolicy: 'Payments', level: 1 },
        {
          name: 'Jonas Weber',
          email: 'jonas@azora.example',
          escalationPolicy: 'Azora Platform',
          level: 2,
          schedule: 'Azora Secondary',
        },
        {
          name: 'Amara Okafor',
          email: 'amara@azora.example',
          escalationPolicy: 'Azora Platform',
          level: 1,
          schedule: 'Azora Primary',
          until: '2030-01-01T08:00:00Z',
        },
      ],
    });

    const rota = await adapter().oncall();

    expect(rota).toEqual([
      {
        user: 'Amara Okafor',
        email: 'amara@azora.example',
        schedule: 'Azora Primary',
        escalationPolicy: 'Azora Platform',
        escalationPolicyId: simulatedId('escalation_policy', 'Azora Platform'),
        level: 1,
        until: '2030-01-01T08:00:00Z',
      },
      {
        user: 'Jonas Weber',
        email: 'jonas@azora.example',
        schedule: 'Azora Secondary',
        escalationPolicy: 'Azora Platform',
        escalationPolicyId: simulatedId('escalation_policy', 'Azora Platform'),
        level: 2,
      },
      {
        user: 'Zeynep Kaya',
        email: 'zeynep@azora.example',
        escalationPolicy: 'Payments',
        escalationPolicyId: simulatedId('escalation_policy', 'Payments'),
        level: 1,
      },
    ]);
    const request = sim.requests.at(-1)!;
    expect(request.query.get('earliest')).toBe('true');
    expect(request.from).toBe(sim.fromEmail);
  });

  it('lists the default rota: two users in two escalation levels', async () => {
    expect(await adapter().oncall()).toEqual([
      expect.objectContaining({ escalationPolicy: 'Azora Platform', level: 1, schedule: 'Azora Primary' }),
      expect.objectContaining({ escalationPolicy: 'Azora Platform', level: 2, schedule: 'Azora Secondary' }),
    ]);
  });

  it('follows /oncalls pages past the first hundred entries', async () => {
    await sim.stop();
    const names = Array.from({ length: 130 }, (_, i) => `User ${String(i).padStart(3, '0')}`);
    await startSim({
      oncall: names.map((name, i) => ({
        name,
        email: `u${i}@azora.example`,
        escalationPolicy: `Team ${String(i % 13).padStart(2, '0')}`,
        level: 1 + (i % 3),
      })),
    });
    const rota = await adapter().oncall();
    expect(rota).toHaveLength(130);
    expect(sim.requests.map((r) => r.query.get('offset'))).toEqual(['0', '100']);
    expect(rota[0]).toMatchObject({ escalationPolicy: 'Team 00', level: 1 });
    expect(rota.at(-1)).toMatchObject({ escalationPolicy: 'Team 12', level: 3 });
  });

  it('reports a wrong API token as a non-transient authentication failure', async () => {
    const pd = adapter({ ...sim.env(caFile), PAGERDUTY_API_TOKEN: 'revoked-token' });
    const err = await pagerDutyError(pd.oncall());
    expect(err).toMatchObject({ transient: false, status: 401 });
    expect(err.message).toMatch(/on-call lookup failed: authentication failed/);
    expect(err.message).toMatch(/PAGERDUTY_API_TOKEN/);
  });

  it('reports a REST 503 with a proxy error page as transient', async () => {
    sim.failNext('/oncalls', 503, 1, { rawBody: '<html>Service Unavailable</html>' });
    const err = await pagerDutyError(adapter().oncall());
    expect(err).toMatchObject({ transient: true, status: 503 });
  });

  it('also trusts the CA for the REST API over HTTPS', async () => {
    const pd = adapter({ ...sim.env(caFile), PAGERDUTY_API_URL: sim.apiTlsUrl });
    await expect(pd.oncall()).resolves.toHaveLength(2);
  });

  it('refuses to page when unconfigured, and rejects an Events URL it cannot use', async () => {
    const pd = adapter({});
    expect(pd.enabled).toBe(false);
    expect(pd.restEnabled).toBe(false);
    const err = await pagerDutyError(pd.trigger(alert('azora-grp-9')));
    expect(err.transient).toBe(false);
    expect(err.message).toMatch(/PAGERDUTY_ROUTING_KEY is not set/);

    expect(() => adapter({ ...sim.env(caFile), PAGERDUTY_EVENTS_URL: `${sim.apiUrl}/events` })).toThrow(
      /PAGERDUTY_EVENTS_URL: expected http\(s\):\/\/host\[:port\], without a path/,
    );
    expect(() => adapter({ ...sim.env(caFile), PAGERDUTY_EVENTS_URL: 'ftp://127.0.0.1' })).toThrow(
      /PAGERDUTY_EVENTS_URL: expected an http\(s\) URL/,
    );
    const notPem = path.join(dir, 'not-a-ca.pem');
    await writeFile(notPem, 'hello');
    expect(() => adapter({ ...sim.env(notPem) })).toThrow(/PAGERDUTY_CA_FILE: .* holds no PEM certificate/);
  });
});
