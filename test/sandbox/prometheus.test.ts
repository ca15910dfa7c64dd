import { AppsV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { PrometheusClient, PrometheusError, type PrometheusSeries } from '../../src/kernel/prometheus';
import { badErrorRatio, type SimulatedCluster } from '../../sandbox/cluster';
import {
  ruleExpression,
  startSandboxPrometheus,
  UNDERSTOOD,
  type SandboxPrometheus,
} from '../../sandbox/prometheus';
import { parseQuery, QueryError } from '../../sandbox/prometheus/promql';
import { defaultPolicy, httpKubeConfig, PRODUCTION, STAGING, startCluster } from './helpers';

/**
 * The sandbox's Prometheus: Prometheus' query API over series computed from the simulated
 * cluster, on a clock the test moves. Read over HTTP as raw JSON (Prometheus' exact shapes)
 * and through the bot's own PrometheusClient, which is what the alert graphs use.
 */

const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const MINUTE = 60_000;
const T0 = Date.parse('2026-03-02T10:00:00Z');
const FAIL_AFTER = 20_000;
const sec = (ms: number) => String(ms / 1000);

describe('the PromQL the sandbox understands', () => {
  it.each([
    ['a metric name', 'azora_up', { kind: 'selector' }],
    ['label matchers of every kind', 'x{a="1", b!="2", c=~"3|4", d!~\'5\'}', { kind: 'selector' }],
    ['a selector without a name', '{__name__="azora_up", namespace="n"}', { kind: 'selector' }],
    ['sum by before', 'sum by (namespace, service) (x{a="b"})', { kind: 'aggregate', op: 'sum' }],
    ['avg by after', 'avg (x) by (service)', { kind: 'aggregate', op: 'avg', by: ['service'] }],
    ['max without by', 'max(x)', { kind: 'aggregate', op: 'max', by: [] }],
    ['a comment and new lines', 'count by (pod) (\n  x # the series\n)', { kind: 'aggregate' }],
  ])('reads %s', (_what, text, vector) => {
    expect(parseQuery(text).vector).toMatchObject(vector);
  });

  it('reads a comparison with a number as a filter: the whole rule expression', () => {
    expect(parseQuery('avg by (service) (x) > 0.05').filter).toEqual({ op: '>', value: 0.05 });
    expect(parseQuery('x == 0').filter).toEqual({ op: '==', value: 0 });
    expect(parseQuery(ruleExpression('AzoraLowCacheHitRate', defaultPolicy()))).toEqual({
      vector: {
        kind: 'aggregate',
        op: 'avg',
        by: ['namespace', 'service'],
        inner: {
          kind: 'selector',
          matchers: [
            { name: '__name__', op: '=', value: 'azora_cache_hit_ratio' },
            { name: 'namespace', op: '=~', value: 'azora-production|azora-staging' },
          ],
        },
      },
      filter: { op: '<', value: 0.8 },
    });
  });

  it.each([
    ['a function', 'rate(x[5m])', 'functions are not among them'],
    ['a range vector', 'x[5m]', 'range vectors are not among them'],
    ['arithmetic', 'x / y', 'expected a comparison with a number, or the end'],
    ['a comparison of two vectors', 'x > y', 'expected a number after the comparison'],
    ['bool', 'x > bool 1', 'bool comparisons are not among them'],
    ['without', 'sum without (pod) (x)', 'without is not among them'],
    ['an unclosed brace', 'x{a="b"', "expected ',' or '}'"],
    ['a bad matcher', 'x{a~"b"}', 'expected =, !=, =~ or !~'],
  ])('refuses %s, saying what it understands', (_what, text, reason) => {
    expect(() => parseQuery(text)).toThrow(QueryError);
    expect(() => parseQuery(text)).toThrow(`${UNDERSTOOD}: ${reason}`);
  });

  it('refuses what Prometheus refuses: nothing, or a selector that matches every series', () => {
    expect(() => parseQuery('  ')).toThrow('no expression found in input');
    expect(() => parseQuery('{a=~".*"}')).toThrow(
      'vector selector must contain at least one non-empty matcher',
    );
    expect(() => parseQuery('x{a=~"("}')).toThrow(/^invalid regular expression "\("/);
  });
});

describe("the sandbox's Prometheus over HTTP", () => {
  let now = T0;
  let cluster: SimulatedCluster;
  let prometheus: SandboxPrometheus;
  let client: PrometheusClient;

  beforeAll(async () => {
    cluster = await startCluster({ clock: () => now, badVersionFailAfterMs: FAIL_AFTER });
    prometheus = await startSandboxPrometheus({ cluster, clock: () => now });
    client = new PrometheusClient({ url: prometheus.url });
  });

  afterAll(async () => {
    await prometheus?.stop();
    await cluster?.stop();
  });

  const get = async (path: string, params: Record<string, string>) => {
    const res = await fetch(`${prometheus.url}${path}?${new URLSearchParams(params)}`);
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as unknown };
  };
  const ownSeries = (all: PrometheusSeries[], namespace: string, service: string) =>
    all.find((s) => s.labels.namespace === namespace && s.labels.service === service);

  it('answers a range query in the shape Prometheus does, GET or POST, for the seeded past too', async () => {
    const params = {
      query: `azora_http_error_ratio{namespace="${STAGING}", service="payment"}`,
      start: sec(T0 - 2 * 60 * MINUTE),
      end: sec(T0),
      step: '15m',
    };
    const { status, type, body } = await get('/api/v1/query_range', params);
    expect({ status, type }).toEqual({ status: 200, type: 'application/json' });
    const data = body as {
      status: string;
      data: { resultType: string; result: Array<{ metric: Record<string, string>; values: unknown[] }> };
    };
    expect(data.status).toBe('success');
    expect(data.data.resultType).toBe('matrix');
    // Staging runs payment on two pods: one series each, with the metric's name, sorted by labels.
    expect(data.data.result).toHaveLength(2);
    const names = data.data.result.map((r) => r.metric.pod);
    expect(names).toEqual([...names].sort());
    for (const series of data.data.result) {
      expect(series.metric).toEqual({
        __name__: 'azora_http_error_ratio',
        namespace: STAGING,
        service: 'payment',
        pod: expect.stringMatching(/^azora-payment-/) as string,
      });
      // Every step of the two hours before the cluster started: the seeded pods stand for a long past.
      expect(series.values).toHaveLength(9);
      for (const [at, value] of series.values as Array<[number, string]>) {
        expect(typeof at).toBe('number');
        expect(value).toMatch(/^\d+(\.\d+)?$/);
        expect(Number(value)).toBeGreaterThanOrEqual(0);
        expect(Number(value)).toBeLessThan(0.05);
      }
    }
    const posted = await fetch(`${prometheus.url}/api/v1/query_range`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    });
    expect(await posted.json()).toEqual(body);
  });

  it('answers an instant query as a vector, at the time asked or now', async () => {
    const { body } = await get('/api/v1/query', {
      query: `count by (namespace) (azora_up{service="payment"})`,
    });
    expect(body).toEqual({
      status: 'success',
      data: {
        resultType: 'vector',
        result: [
          // Production runs both colours (3 + 3), staging 2: idle pods run, and are up.
          { metric: { namespace: PRODUCTION }, value: [T0 / 1000, '6'] },
          { metric: { namespace: STAGING }, value: [T0 / 1000, '2'] },
        ],
      },
    });
  });

  it("draws a bad version's error ratio from the cluster: over the threshold before the cluster's alert fires", async () => {
    const deployedAt = T0 + MINUTE;
    now = deployedAt;
    await httpKubeConfig(cluster)
      .makeApiClient(AppsV1Api)
      .patchNamespacedDeployment(
        {
          name: 'azora-payment',
          namespace: STAGING,
          body: {
            spec: {
              template: {
                spec: {
                  containers: [{ name: 'payment', image: 'registry.azora.world/azora/payment:v1.6.0-bad' }],
                },
              },
            },
          },
        },
        strategicPatch,
      );
    await cluster.settle();
    now = deployedAt + 2 * MINUTE;
    await cluster.settle();
    const [alert] = cluster.firingAlerts();
    expect(alert).toMatchObject({ alertname: 'AzoraHighErrorRate', namespace: STAGING, service: 'payment' });
    expect(alert!.startsAt).toBe(deployedAt + FAIL_AFTER);

    const rule = ruleExpression('AzoraHighErrorRate', defaultPolicy());
    const vector = rule.replace(/ > 0\.05$/, '');
    const step = 5_000;
    const series = await client.queryRange({ query: vector, start: T0, end: now, step });
    // One line per service and environment, as the chart's rule has them.
    expect(series.map((s) => `${s.labels.namespace}/${s.labels.service}`).sort()).toEqual(
      ['api-gateway', 'auth', 'education', 'payment']
        .flatMap((svc) => [`${PRODUCTION}/${svc}`, `${STAGING}/${svc}`])
        .sort(),
    );
    const payment = ownSeries(series, STAGING, 'payment')!;
    const at = (t: number) => payment.points.find(([time]) => time === t)?.[1];
    expect(at(deployedAt - step)).toBeLessThan(0.05);
    // Half-way to failing, the new pods answer 5xx to their full share; the alert fires later.
    const full = badErrorRatio('payment', 'v1.6.0-bad');
    for (const t of [deployedAt + FAIL_AFTER / 2, deployedAt + FAIL_AFTER, now]) {
      expect(Math.abs(at(t)! - full)).toBeLessThan(0.03);
    }
    expect(at(deployedAt + FAIL_AFTER / 4)).toBeGreaterThan(0.05);
    // Production's payment still serves the good version.
    expect(Math.max(...ownSeries(series, PRODUCTION, 'payment')!.points.map(([, v]) => v))).toBeLessThan(
      0.05,
    );

    // The whole rule expression keeps only what is over the threshold.
    const over = await client.queryRange({ query: rule, start: T0, end: now, step });
    expect(over.map((s) => s.labels)).toEqual([{ namespace: STAGING, service: 'payment' }]);
    expect(over[0]!.points[0]![0]).toBeGreaterThan(deployedAt);
    expect(over[0]!.points[0]![0]).toBeLessThan(alert!.startsAt);
  });

  it("follows an alert fired from the menu: its rule's series over the line before it fired, back after its resolve", async () => {
    const firedAt = now;
    prometheus.record({
      alertname: 'AzoraHighCPU',
      namespace: PRODUCTION,
      service: 'api-gateway',
      severity: 'warning',
      from: firedAt,
    });
    const query = ruleExpression('AzoraHighCPU', defaultPolicy()).replace(/ > 0\.7$/, '');
    const step = 10_000;
    const cpu = (series: PrometheusSeries[]) => ownSeries(series, PRODUCTION, 'api-gateway')!;
    const firing = cpu(await client.queryRange({ query, start: firedAt - 20 * MINUTE, end: firedAt, step }));
    const value = (s: PrometheusSeries, t: number) => s.points.find(([time]) => time === t)![1];
    // The chart's rule wants 5 minutes over 70% before it fires: so it was.
    expect(value(firing, firedAt - 15 * MINUTE)).toBeLessThan(0.7);
    for (const t of [firedAt - 5 * MINUTE, firedAt - MINUTE, firedAt])
      expect(value(firing, t)).toBeGreaterThan(0.7);
    expect(Math.abs(value(firing, firedAt) - 0.84)).toBeLessThan(0.05);

    const resolvedAt = firedAt + 3 * MINUTE;
    now = resolvedAt + MINUTE;
    prometheus.record({
      alertname: 'AzoraHighCPU',
      namespace: PRODUCTION,
      service: 'api-gateway',
      severity: 'warning',
      from: firedAt,
      to: resolvedAt,
    });
    const after = cpu(await client.queryRange({ query, start: firedAt, end: now, step }));
    // What was drawn before the resolve stays; half a minute after it, the series is back.
    expect(value(after, resolvedAt - 2 * MINUTE)).toBeGreaterThan(0.7);
    expect(value(after, resolvedAt)).toBeGreaterThan(0.7);
    expect(value(after, resolvedAt + 30_000)).toBeLessThan(0.7);
    expect(value(after, now)).toBeLessThan(0.7);

    // Prometheus' own ALERTS series says when it fired.
    const alerts = await client.queryRange({
      query: 'ALERTS{alertname="AzoraHighCPU"}',
      start: firedAt - MINUTE,
      end: now,
      step: MINUTE,
    });
    expect(alerts).toEqual([
      {
        labels: {
          __name__: 'ALERTS',
          alertname: 'AzoraHighCPU',
          alertstate: 'firing',
          namespace: PRODUCTION,
          service: 'api-gateway',
          severity: 'warning',
        },
        points: [0, 1, 2].map((k) => [firedAt + k * MINUTE, 1]),
      },
    ]);
  });

  it.each([
    [
      'a function',
      { query: 'rate(azora_up[5m])' },
      `invalid parameter "query": ${UNDERSTOOD}: functions are not among them near "(azora_up[5m])"`,
    ],
    ['no start', { start: '' }, 'invalid parameter "start": cannot parse "" to a valid timestamp'],
    [
      'an end before the start',
      { end: sec(T0 - MINUTE) },
      'invalid parameter "end": end timestamp must not be before start time',
    ],
    ['a bad step', { step: 'soon' }, 'invalid parameter "step": cannot parse "soon" to a valid duration'],
    [
      'a step of zero',
      { step: '0' },
      'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
    ],
    [
      'too many points',
      { step: '0.1' },
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    ],
  ])('answers %s with 400 bad_data, as Prometheus does', async (_what, change, error) => {
    const params = { query: 'azora_up', start: sec(T0), end: sec(T0 + 30 * MINUTE), step: '60', ...change };
    const { status, body } = await get('/api/v1/query_range', params);
    expect(status).toBe(400);
    expect(body).toEqual({ status: 'error', errorType: 'bad_data', error });
  });

  it("is read by the bot's client: its refusals end as one short line, and no series as no data", async () => {
    const range = { start: T0, end: T0 + MINUTE, step: 15_000 };
    const refused = await client
      .queryRange({ query: 'sum(rate(azora_up[5m])) / 2', ...range })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PrometheusError);
    expect(refused).toMatchObject({ kind: 'query', status: 400 });
    expect((refused as Error).message).toMatch(
      /^query error: invalid parameter "query": the sandbox's Prometheus understands only/,
    );
    const none = await client
      .queryRange({ query: 'azora_up{service="nothing"}', ...range })
      .catch((e: unknown) => e);
    expect(none).toMatchObject({ kind: 'no-data' });
  });

  it("sends an alert's generatorURL to the expression's value, and knows no other page", async () => {
    const expr = 'max by (service) (azora_up{namespace="azora-staging"})';
    const res = await fetch(`${prometheus.url}/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=1`);
    expect(res.url).toBe(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    expect(await res.json()).toMatchObject({ status: 'success', data: { resultType: 'vector' } });
    expect((await fetch(`${prometheus.url}/api/v1/labels`)).status).toBe(404);
    expect((await fetch(`${prometheus.url}/api/v1/query`, { method: 'DELETE' })).status).toBe(405);
  });
});
