import { chartOption } from '../../src/graphs/chart-option';
import {
  expressionOfGeneratorUrl,
  splitThreshold,
  type GraphExpression,
} from '../../src/graphs/domain/expression';
import {
  describeGraph,
  firingPeriod,
  graphModel,
  NoGraph,
  type GraphInput,
} from '../../src/graphs/domain/graph';
import { changeMarkers, type ChangeRecord } from '../../src/graphs/domain/markers';
import { chooseSeries, legendLabels, type Series } from '../../src/graphs/domain/series';
import { GRAPH_DEFAULTS } from '../../src/config/policy';
import { graphWindow, pointsOf } from '../../src/graphs/domain/window';
import type { PlanStep } from '../../src/requests/domain/types';

const MIN = 60_000;
const NOW = Date.UTC(2026, 11, 2, 13, 0, 10);

describe('the rule expression from an alert', () => {
  it.each([
    [
      'Prometheus graph link',
      'http://prometheus:9090/graph?g0.expr=rate%28errors_total%5B5m%5D%29+%3E+0.05&g0.tab=1',
      'rate(errors_total[5m]) > 0.05',
    ],
    [
      'path prefix, expression with spaces',
      'https://x/prom/graph?g0.tab=1&g0.expr=up%20%3D%3D%200',
      'up == 0',
    ],
    ['no g0.expr', 'http://prometheus:9090/graph?g1.expr=up', undefined],
    ['empty g0.expr', 'http://prometheus:9090/graph?g0.expr=', undefined],
    ['not a URL', 'prometheus/graph?g0.expr=up', undefined],
    ['no generatorURL', undefined, undefined],
  ])('%s', (_, url, expected) => {
    expect(expressionOfGeneratorUrl(url)).toBe(expected);
  });
});

describe('the threshold of an expression', () => {
  const table: Array<[string, string, GraphExpression]> = [
    [
      'ratio above a number',
      'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05',
      {
        vector: 'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))',
        threshold: { op: '>', value: 0.05 },
      },
    ],
    ['below', 'avg(up) < 0.8', { vector: 'avg(up)', threshold: { op: '<', value: 0.8 } }],
    ['at least', 'x >= 1e3', { vector: 'x', threshold: { op: '>=', value: 1000 } }],
    ['at most, negative', 'x <= -2', { vector: 'x', threshold: { op: '<=', value: -2 } }],
    ['equals', 'up == 0', { vector: 'up', threshold: { op: '==', value: 0 } }],
    ['number first, flipped', '0.9 < avg(up)', { vector: 'avg(up)', threshold: { op: '>', value: 0.9 } }],
    [
      'whole expression in parentheses',
      '(rate(x[5m]) > 3)',
      { vector: 'rate(x[5m])', threshold: { op: '>', value: 3 } },
    ],
    ['parenthesised number', 'x > (0.5)', { vector: 'x', threshold: { op: '>', value: 0.5 } }],
    [
      'multi-line, with a comment',
      'rate(x[5m])\n  # above 2 > 1\n  > 2',
      { vector: 'rate(x[5m])\n  # above 2 > 1', threshold: { op: '>', value: 2 } },
    ],
    ['comparison inside a label matcher only', 'rate(x{le=">1"}[5m])', { vector: 'rate(x{le=">1"}[5m])' }],
    ['comparison inside a function', 'count(x > 1)', { vector: 'count(x > 1)' }],
    ['bool keeps the expression', 'x > bool 0.5', { vector: 'x > bool 0.5' }],
    ['vector against vector', 'x > y', { vector: 'x > y' }],
    ['vector matching against a vector', 'x > on(job) y', { vector: 'x > on(job) y' }],
    ['set operator at the top', 'x > 1 and y > 2', { vector: 'x > 1 and y > 2' }],
    ['unless, upper case', 'x > 1 UNLESS y', { vector: 'x > 1 UNLESS y' }],
    [
      'a metric named like an operator is no operator',
      'brand_errors > 1',
      { vector: 'brand_errors', threshold: { op: '>', value: 1 } },
    ],
    ['no comparison', 'rate(x[5m])', { vector: 'rate(x[5m])' }],
    ['last comparison of a chain', 'x > 1 < 5', { vector: 'x > 1', threshold: { op: '<', value: 5 } }],
  ];
  it.each(table)('%s', (_, expr, expected) => {
    expect(splitThreshold(expr)).toEqual(expected);
  });
});

const series = (labels: Record<string, string>, values: number[], start = NOW - 10 * MIN): Series => ({
  labels,
  points: values.map((v, i) => [start + i * MIN, v] as const),
});

describe('choosing the series to draw', () => {
  const low = series({ __name__: 'e', service: 'checkout', pod: 'c-1' }, [0.5, 0.01]);
  const high = series({ __name__: 'e', service: 'search', pod: 's-1' }, [0.01, 0.3]);
  const peak = series({ __name__: 'e', service: 'search', pod: 's-2' }, [0.9, 0.3]);
  const own = series({ __name__: 'e', service: 'payment', pod: 'p-1' }, [0.02, 0.02]);
  const empty = series({ __name__: 'e', service: 'payment', pod: 'p-2' }, [NaN, Infinity]);

  it.each([
    ['by latest value, then peak', [low, high, peak], 3, [], [peak, high, low], 0],
    ['at most max, the rest counted', [low, high, peak], 2, [], [peak, high], 1],
    [
      'the group’s own first',
      [low, high, own],
      2,
      [{ alertname: 'A', service: 'payment', pod: 'p-1' }],
      [own, high],
      1,
    ],
    ['never a series without a finite value', [empty, low], 5, [], [low], 1],
  ])('%s', (_, all, max, alerts, chosen, hidden) => {
    expect(chooseSeries(all, max, alerts)).toEqual({ series: chosen, hidden });
  });

  it.each([
    [
      'labels that differ only, no __name__',
      [low, high],
      ['pod=c-1, service=checkout', 'pod=s-1, service=search'],
    ],
    ['a shared label is left out', [high, peak], ['pod=s-1', 'pod=s-2']],
    ['one series shows all its labels', [own], ['pod=p-1, service=payment']],
    ['no labels: the metric name', [series({ __name__: 'up' }, [1])], ['up']],
    ['no labels at all: value', [series({}, [1])], ['value']],
    [
      'long values are clipped',
      [series({ pod: 'p'.repeat(40) }, [1]), series({ pod: 'q' }, [1])],
      [`pod=${'p'.repeat(23)}…`, 'pod=q'],
    ],
  ])('legend: %s', (_, chosen, labels) => {
    expect(legendLabels(chosen)).toEqual(labels);
  });
});

describe('the window and its step', () => {
  it.each([
    ['an hour at 30 s', { window: 60 * MIN, step: 30_000, maxPoints: 500 }, undefined, 60 * MIN, 30_000],
    [
      'a point cap widens the step',
      { window: 60 * MIN, step: 1_000, maxPoints: 500 },
      undefined,
      60 * MIN,
      8_000,
    ],
    [
      'a step under a second becomes a second',
      { window: 5 * MIN, step: 100, maxPoints: 500 },
      undefined,
      5 * MIN,
      1_000,
    ],
    [
      'firing for long widens the window',
      { window: 60 * MIN, step: 30_000, maxPoints: 500 },
      NOW - 90 * MIN,
      120 * MIN,
      30_000,
    ],
    [
      'up to maxWindow',
      { window: 60 * MIN, step: 30_000, maxPoints: 500 },
      NOW - 24 * 60 * MIN,
      360 * MIN,
      44_000,
    ],
    [
      'firing briefly keeps it',
      { window: 60 * MIN, step: 30_000, maxPoints: 500 },
      NOW - 20 * MIN,
      60 * MIN,
      30_000,
    ],
  ])('%s', (_, settings, firingSince, span, step) => {
    const window = graphWindow(NOW, firingSince, { ...GRAPH_DEFAULTS, ...settings });
    expect(window.step).toBe(step);
    expect(window.end).toBe(Math.floor(NOW / step) * step);
    expect(window.end - window.start).toBeLessThanOrEqual(span);
    expect(window.end - window.start).toBeGreaterThan(span - step);
    expect(window.start % step).toBe(0);
    expect(pointsOf(window)).toBeLessThanOrEqual(settings.maxPoints);
  });
});

const deploy = (service: string, version: string): PlanStep => ({
  kind: 'deploy',
  service,
  deployment: `${service}-green`,
  fromImage: `reg/${service}:v1.5.0`,
  toImage: `reg/${service}:${version}`,
});

describe('markers of the bot’s changes', () => {
  const scope = { environment: 'production', service: 'payment' };
  const at = NOW - 30 * MIN;
  const record = (over: Partial<ChangeRecord>): ChangeRecord => ({
    type: 'succeeded',
    at,
    actor: 'U0ENGINEER',
    environment: 'production',
    services: ['payment'],
    ...over,
  });
  const rollback: PlanStep = {
    kind: 'rollback',
    service: 'payment',
    deployment: 'payment',
    replicaSet: 'payment-5d8f7c9b4',
    fromRevision: 4,
    toRevision: 3,
    fromImage: 'reg/payment:v1.6.0',
    toImage: 'reg/payment:v1.5.0',
  };

  it.each<[string, ChangeRecord[], string[]]>([
    ['a deploy', [record({ plan: [deploy('payment', 'v1.4.2')] })], ['deploy v1.4.2']],
    [
      'a switch',
      [
        record({
          plan: [
            { kind: 'switch', service: 'payment', serviceName: 'azora-payment', from: 'blue', to: 'green' },
          ],
        }),
      ],
      ['switch → green'],
    ],
    ['a rollback', [record({ plan: [rollback] })], ['rollback → v1.5.0']],
    [
      'a scale',
      [record({ plan: [{ kind: 'scale', service: 'payment', target: 'payment', from: 3, to: 6 }] })],
      ['scale 6'],
    ],
    [
      'maintenance started now, for the whole environment',
      [
        record({
          services: [],
          plan: [{ kind: 'maintenance', service: 'production', durationMs: MIN, reason: 'db' }],
        }),
      ],
      ['maintenance'],
    ],
    [
      'maintenance scheduled for later is no change yet',
      [
        record({
          plan: [
            {
              kind: 'maintenance',
              service: 'production',
              durationMs: MIN,
              reason: 'db',
              action: 'schedule',
              start: NOW,
            },
          ],
        }),
      ],
      [],
    ],
    ['a scheduled window starting', [record({ type: 'maintenance-start', services: [] })], ['maintenance']],
    [
      'a failed deploy, marked so',
      [record({ type: 'failed', plan: [deploy('payment', 'v2')] })],
      ['deploy v2 (failed)'],
    ],
    ['another service', [record({ plan: [deploy('search', 'v9')] })], []],
    ['another environment', [record({ environment: 'staging', plan: [deploy('payment', 'v9')] })], []],
    ['before the window', [record({ at: NOW - 120 * MIN, plan: [deploy('payment', 'v9')] })], []],
    ['not a result', [record({ type: 'approved', plan: [deploy('payment', 'v9')] })], []],
    [
      'a backup step',
      [record({ plan: [{ kind: 'backup', service: 'production' }, deploy('payment', 'v3')] })],
      ['deploy v3'],
    ],
    [
      'oldest first, the same event once',
      [
        record({ at: at + MIN, plan: [deploy('payment', 'v2')] }),
        record({ plan: [deploy('payment', 'v1')] }),
        record({ plan: [deploy('payment', 'v1')] }),
      ],
      ['deploy v1', 'deploy v2'],
    ],
  ])('%s', (_, records, labels) => {
    expect(changeMarkers(records, scope, NOW - 60 * MIN, NOW).map((m) => m.label)).toEqual(labels);
  });

  it('keeps the latest `max`, and none without an environment', () => {
    const many = [1, 2, 3, 4].map((n) => record({ at: at + n, plan: [deploy('payment', `v${n}`)] }));
    expect(changeMarkers(many, scope, NOW - 60 * MIN, NOW, 2).map((m) => m.label)).toEqual([
      'deploy v3',
      'deploy v4',
    ]);
    expect(changeMarkers(many, { service: 'payment' }, NOW - 60 * MIN, NOW)).toEqual([]);
  });
});

describe('the graph model', () => {
  const window = { start: NOW - 10 * MIN, end: NOW - 10 * MIN + 9 * MIN, step: MIN };
  const input = (over: Partial<GraphInput> = {}): GraphInput => ({
    alertname: 'AzoraHighErrorRate',
    environment: 'production',
    service: 'payment',
    expression: { vector: 'errors', threshold: { op: '>', value: 0.05 } },
    window,
    series: [series({ pod: 'p-1' }, [0.01, 0.01, NaN, 0.2, 0.2], window.start)],
    groupAlerts: [],
    maxSeries: 5,
    markers: [],
    ...over,
  });

  it('puts each sample on the grid, with gaps for NaN and missing steps', () => {
    const model = graphModel(input());
    expect(model.lines).toEqual([
      { label: 'pod=p-1', values: [0.01, 0.01, null, 0.2, 0.2, null, null, null, null, null] },
    ]);
    expect(model.title).toBe('AzoraHighErrorRate · production/payment');
    expect(model.subtitle).toBe('last 9m, step 1m  ·  errors');
  });

  it('clips the firing period and drops markers outside the window', () => {
    const model = graphModel(
      input({
        firing: { from: window.start - 5 * MIN, to: NOW + MIN },
        markers: [
          { at: window.start + MIN, kind: 'deploy', label: 'deploy v2', actor: 'U1' },
          { at: window.start - MIN, kind: 'scale', label: 'scale 3', actor: 'U1' },
        ],
      }),
    );
    expect(model.firing).toEqual({ from: window.start, to: window.end });
    expect(model.markers.map((m) => m.label)).toEqual(['deploy v2']);
    expect(describeGraph(model)).toBe(
      'AzoraHighErrorRate · production/payment: 1 series from 12:50 UTC to 12:59 UTC; threshold > 0.05; firing since 12:50 UTC; deploy v2 at 12:51 UTC',
    );
  });

  it.each([
    ['no series', []],
    ['only NaN', [series({ pod: 'p' }, [NaN, NaN], window.start)]],
    ['samples outside the window', [series({ pod: 'p' }, [1, 1], window.end + MIN)]],
  ])('is no data with %s', (_, all) => {
    expect(() => graphModel(input({ series: all }))).toThrow(new NoGraph('no data'));
  });
});

describe('the firing period', () => {
  const start = (min: number) => new Date(NOW - min * MIN).toISOString();
  it.each([
    [
      'the earliest firing alert',
      [
        { status: 'firing', startsAt: start(5) },
        { status: 'firing', startsAt: start(9) },
        { status: 'resolved', startsAt: start(50) },
      ],
      undefined,
      { from: NOW - 9 * MIN, to: NOW },
    ],
    [
      'resolved: until it resolved',
      [{ status: 'resolved', startsAt: start(20) }],
      NOW - 2 * MIN,
      { from: NOW - 20 * MIN, to: NOW - 2 * MIN },
    ],
    ['no readable start', [{ status: 'firing', startsAt: '0001-01-01T00:00:00Z' }], undefined, undefined],
  ])('%s', (_, alerts, resolvedAt, expected) => {
    expect(firingPeriod(alerts, resolvedAt, NOW)).toEqual(expected);
  });
});

describe('the chart option', () => {
  const window = { start: NOW - 60 * MIN, end: NOW, step: MIN };
  const model = graphModel({
    alertname: 'A',
    expression: { vector: 'x', threshold: { op: '>', value: 5 } },
    window,
    series: [series({ pod: 'a' }, [1, 2, 3], window.start)],
    groupAlerts: [],
    maxSeries: 5,
    firing: { from: NOW - 30 * MIN, to: NOW },
    markers: [
      { at: NOW - 40 * MIN, kind: 'deploy', label: 'deploy v1', actor: 'U1' },
      { at: NOW - 39 * MIN, kind: 'switch', label: 'switch → green', actor: 'U1' },
    ],
  });
  const option = chartOption(model, { width: 800, height: 400 });
  const first = (option.series as Array<Record<string, unknown>>)[0]!;
  const marks = (first.markLine as { data: Array<Record<string, unknown>> }).data;

  it('draws the time axis in UTC and names it', () => {
    expect(option.useUTC).toBe(true);
    expect(option.xAxis).toMatchObject({ type: 'time', min: window.start, max: window.end, name: 'UTC' });
  });

  it('has a dashed threshold line, and room for it above the data', () => {
    expect(marks[0]).toMatchObject({ yAxis: 5, lineStyle: { type: 'dashed' }, label: { formatter: '> 5' } });
    expect(option.yAxis).toMatchObject({ max: 6.25 });
  });

  it('marks the changes with vertical lines, staggering labels that would overlap', () => {
    expect(marks.slice(1)).toMatchObject([
      { xAxis: NOW - 40 * MIN, label: { formatter: 'deploy v1', distance: 4 } },
      { xAxis: NOW - 39 * MIN, label: { formatter: 'switch → green', distance: 22 } },
    ]);
  });

  it('shades the firing period', () => {
    expect(first.markArea).toMatchObject({
      data: [[{ xAxis: NOW - 30 * MIN, name: 'firing' }, { xAxis: NOW }]],
    });
  });
});
