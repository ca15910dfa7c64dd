/** One series of a range query: its labels and its samples (ms, value; NaN and ±Inf as they came). */
export interface Series {
  labels: Readonly<Record<string, string>>;
  points: ReadonlyArray<readonly [number, number]>;
}

export interface Chosen {
  series: Series[];
  /** How many series the query returned beyond those drawn. */
  hidden: number;
}

const finite = (series: Series): number[] =>
  series.points.map(([, v]) => v).filter((v) => Number.isFinite(v));

/** The last finite value and the highest: what ranks a series. */
function rank(series: Series): [number, number] {
  const values = finite(series);
  if (values.length === 0) return [-Infinity, -Infinity];
  return [values.at(-1)!, Math.max(...values)];
}

/** A series is the group's when its labels are among one of the group's alerts' labels (the rule adds alertname, severity…). */
function belongsTo(series: Series, alerts: ReadonlyArray<Readonly<Record<string, string>>>): boolean {
  const own = Object.entries(series.labels).filter(([name]) => name !== '__name__');
  return alerts.some((labels) => own.every(([name, value]) => labels[name] === value));
}

/**
 * The few series worth drawing: those of the group's own alerts first, then the rest, each
 * part by its latest value and then its peak, highest first. Series with no finite value
 * are never drawn.
 */
export function chooseSeries(
  all: readonly Series[],
  max: number,
  groupAlerts: ReadonlyArray<Readonly<Record<string, string>>> = [],
): Chosen {
  const drawable = all.filter((s) => finite(s).length > 0);
  const ranked = drawable
    .map((series) => ({ series, own: belongsTo(series, groupAlerts), rank: rank(series) }))
    .sort((a, b) => Number(b.own) - Number(a.own) || b.rank[0] - a.rank[0] || b.rank[1] - a.rank[1]);
  const series = ranked.slice(0, Math.max(0, max)).map((r) => r.series);
  return { series, hidden: all.length - series.length };
}

const clip = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`;

/**
 * Legend entries: the labels that tell the series apart (`__name__` and labels every
 * drawn series shares are left out), `name=value` joined, values and whole entries
 * clipped so the legend stays one or two lines at thumbnail size. One series shows all
 * its labels; a series with none shows its metric name, or `value`.
 */
export function legendLabels(series: readonly Series[], maxChars = 48): string[] {
  const names = [...new Set(series.flatMap((s) => Object.keys(s.labels)))]
    .filter((name) => name !== '__name__')
    .sort();
  const telling =
    series.length <= 1 ? names : names.filter((name) => new Set(series.map((s) => s.labels[name])).size > 1);
  return series.map((s) => {
    const parts = telling
      .filter((name) => s.labels[name] !== undefined)
      .map((name) => `${name}=${clip(s.labels[name]!, 24)}`);
    return clip(parts.length > 0 ? parts.join(', ') : (s.labels.__name__ ?? 'value'), maxChars);
  });
}
