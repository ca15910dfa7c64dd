import type { RawSeries } from './metrics';
import { compare, matches, type Aggregate, type Query, type Selector } from './promql';

/** The series to select from at each time: all of them, or only those of some metric names. */
export type SeriesSource = (times: readonly number[], names?: ReadonlySet<string>) => RawSeries[];

/**
 * A query of the subset at each of `times`, as Prometheus evaluates it step by step: the
 * result's series sorted by their labels, those without any sample left out.
 */
export function evaluate(query: Query, times: readonly number[], source: SeriesSource): RawSeries[] {
  let result =
    query.vector.kind === 'selector'
      ? select(query.vector, times, source)
      : aggregate(query.vector, times, source);
  const { filter } = query;
  if (filter) {
    result = result.map((s) => ({
      labels: s.labels,
      values: s.values.map((v) => (v !== undefined && compare(filter.op, v, filter.value) ? v : undefined)),
    }));
  }
  return result
    .filter((s) => s.values.some((v) => v !== undefined))
    .sort((a, b) => labelKey(a.labels).localeCompare(labelKey(b.labels)));
}

function select(selector: Selector, times: readonly number[], source: SeriesSource): RawSeries[] {
  const named = selector.matchers.find((m) => m.name === '__name__' && m.op === '=');
  const series = source(times, named ? new Set([named.value]) : undefined);
  return series.filter((s) => selector.matchers.every((m) => matches(m, s.labels[m.name] ?? '')));
}

function aggregate(node: Aggregate, times: readonly number[], source: SeriesSource): RawSeries[] {
  const groups = new Map<string, { labels: Record<string, string>; members: RawSeries[] }>();
  for (const series of select(node.inner, times, source)) {
    const labels: Record<string, string> = {};
    for (const name of node.by) {
      const value = series.labels[name];
      if (value !== undefined && value !== '') labels[name] = value;
    }
    const key = labelKey(labels);
    const group = groups.get(key) ?? { labels, members: [] };
    group.members.push(series);
    groups.set(key, group);
  }
  return [...groups.values()].map(({ labels, members }) => ({
    labels,
    values: times.map((_t, i) => {
      const present = members.map((m) => m.values[i]).filter((v): v is number => v !== undefined);
      return present.length === 0 ? undefined : reduce(node.op, present);
    }),
  }));
}

function reduce(op: Aggregate['op'], values: number[]): number {
  switch (op) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    case 'count':
      return values.length;
  }
}

/** Prometheus orders series by their label sets: names sorted, then values. */
function labelKey(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}\u0000${labels[name]}`)
    .join('\u0001');
}
