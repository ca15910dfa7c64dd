import type { GraphExpression, Threshold } from './expression';
import type { ChangeMarker } from './markers';
import { chooseSeries, legendLabels, type Series } from './series';
import { pointsOf, type GraphWindow } from './window';

/** Why there is no graph, in words for the thread: `no graph: <reason>`. */
export class NoGraph extends Error {
  override readonly name = 'NoGraph';
}

/** One line of the chart: a value per step of the window, null where the series has no sample. */
export interface GraphLine {
  label: string;
  values: Array<number | null>;
}

/** Everything a chart shows, in plain data: what the renderer draws and the alt text tells. */
export interface GraphModel {
  title: string;
  subtitle: string;
  window: GraphWindow;
  lines: GraphLine[];
  /** Series the query returned that are not drawn. */
  hidden: number;
  threshold?: Threshold;
  /** The time the group has been firing, within the window. */
  firing?: { from: number; to: number };
  markers: ChangeMarker[];
}

export interface GraphInput {
  alertname: string;
  environment?: string;
  service?: string;
  expression: GraphExpression;
  window: GraphWindow;
  series: readonly Series[];
  /** The labels of the group's alerts: their series are drawn first. */
  groupAlerts: ReadonlyArray<Readonly<Record<string, string>>>;
  maxSeries: number;
  firing?: { from: number; to: number };
  markers: readonly ChangeMarker[];
}

const clip = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

/** A series' samples on the window's grid; Prometheus answers exactly there, other samples are dropped. */
function onGrid(series: Series, window: GraphWindow): Array<number | null> {
  const values: Array<number | null> = new Array<number | null>(pointsOf(window)).fill(null);
  for (const [at, value] of series.points) {
    const index = Math.round((at - window.start) / window.step);
    if (index >= 0 && index < values.length && Number.isFinite(value)) values[index] = value;
  }
  return values;
}

/** Whole minutes or hours, for the subtitle: `1h`, `90m`, `30s`. */
function span(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1_000)}s`;
}

/**
 * The chart of one alert group: its few series on the window's grid, the threshold, the
 * firing period clipped to the window, and the bot's changes in it. No drawable value at
 * all is `no data`.
 */
export function graphModel(input: GraphInput): GraphModel {
  const { window } = input;
  const chosen = chooseSeries(input.series, input.maxSeries, input.groupAlerts);
  const labels = legendLabels(chosen.series);
  const lines = chosen.series
    .map((series, i) => ({ label: labels[i]!, values: onGrid(series, window) }))
    .filter((line) => line.values.some((v) => v !== null));
  if (lines.length === 0) throw new NoGraph('no data');
  const where = [input.environment, input.service].filter(Boolean).join('/');
  const firing =
    input.firing && input.firing.to > window.start && input.firing.from < window.end
      ? { from: Math.max(input.firing.from, window.start), to: Math.min(input.firing.to, window.end) }
      : undefined;
  return {
    title: clip(where ? `${input.alertname} · ${where}` : input.alertname, 70),
    subtitle: clip(
      `last ${span(window.end - window.start)}, step ${span(window.step)}  ·  ${input.expression.vector}`,
      160,
    ),
    window,
    lines,
    hidden: chosen.hidden + (chosen.series.length - lines.length),
    ...(input.expression.threshold ? { threshold: input.expression.threshold } : {}),
    ...(firing ? { firing } : {}),
    markers: input.markers.filter((m) => m.at >= window.start && m.at <= window.end),
  };
}

const utc = (ms: number): string => `${new Date(ms).toISOString().slice(11, 16)} UTC`;

/** The chart in words, for screen readers (Slack's alt text) and for a thread that shows no image. */
export function describeGraph(model: GraphModel): string {
  const parts = [
    `${model.title}: ${model.lines.length} series from ${utc(model.window.start)} to ${utc(model.window.end)}`,
  ];
  if (model.hidden > 0) parts.push(`${model.hidden} more not drawn`);
  if (model.threshold) parts.push(`threshold ${model.threshold.op} ${model.threshold.value}`);
  if (model.firing) parts.push(`firing since ${utc(model.firing.from)}`);
  for (const marker of model.markers) parts.push(`${marker.label} at ${utc(marker.at)}`);
  return clip(parts.join('; '), 1_000);
}

/**
 * When the group began firing: the earliest start of its firing alerts (of all its alerts
 * once resolved), until it resolved or now. Undefined when no start can be read.
 */
export function firingPeriod(
  alerts: ReadonlyArray<{ status: string; startsAt: string }>,
  resolvedAt: number | undefined,
  now: number,
): { from: number; to: number } | undefined {
  const firing = alerts.filter((a) => a.status === 'firing');
  const starts = (firing.length > 0 ? firing : alerts)
    .map((a) => Date.parse(a.startsAt))
    .filter((t) => Number.isFinite(t) && t > 0);
  if (starts.length === 0) return undefined;
  const to = firing.length > 0 || resolvedAt === undefined ? now : resolvedAt;
  return { from: Math.min(...starts), to };
}
