import { badErrorRatio, type PodHistory, type Span } from '../cluster';
import { SANDBOX_RULES, type MetricName, type SandboxRule } from './rules';

/**
 * The series the sandbox's Prometheus answers with, computed at any time asked from what
 * the simulated cluster did (which pods ran, which took traffic, which ran a `-bad`
 * version) and from the alerts fired from the menu: a value is a function of the time and
 * of that history, so a graph drawn twice of one window draws the same lines.
 *
 * - Every series wobbles a little around its normal level, differently per pod.
 * - A `-bad` version's pods answer more and more 5xx from the moment they take traffic, up
 *   to the ratio the cluster's AzoraHighErrorRate states, over half the time they take
 *   before they fail: by the time the cluster fires the alert, the ratio has been over the
 *   threshold a while, as the rule's `for` wants.
 * - An alert fired from the menu drives its rule's series for that service to the figure
 *   its summary states, from a minute before the rule's `for` began (the menu says the
 *   condition has held that long) until half a minute after it is resolved; Prometheus' own
 *   `ALERTS` series says when it fired.
 */

/** What the metrics are computed from: the simulated cluster's record of its apps. */
export interface TrafficSource {
  traffic(from: number, to: number): PodHistory[];
  readonly badVersionFailAfterMs: number;
}

/** An alert fired (and perhaps resolved) from the menu, for one service. */
export interface Episode {
  alertname: string;
  namespace: string;
  service: string;
  severity: string;
  /** When it fired (startsAt). */
  from: number;
  /** When it was resolved. */
  to?: number;
}

export interface RawSeries {
  labels: Record<string, string>;
  /** One per time asked; undefined where the series has no sample. */
  values: Array<number | undefined>;
}

interface MetricDef {
  name: MetricName;
  /** Which pods have the series: apps (deployments) or the statefulsets. */
  of: 'apps' | 'stateful' | 'all';
  /** Only while the pod takes traffic (a ratio of requests), or whenever it runs. */
  when: 'serving' | 'running';
  normal: number;
  /** How far it wanders from normal, either way. */
  wobble: number;
  /** 0 or 1: it steps rather than ramps. */
  flag?: boolean;
  max?: number;
}

const METRICS: readonly MetricDef[] = [
  { name: 'azora_up', of: 'all', when: 'running', normal: 1, wobble: 0, flag: true },
  { name: 'azora_http_error_ratio', of: 'apps', when: 'serving', normal: 0.004, wobble: 0.003, max: 1 },
  { name: 'azora_pg_up', of: 'apps', when: 'running', normal: 1, wobble: 0, flag: true },
  { name: 'azora_volume_usage_ratio', of: 'stateful', when: 'running', normal: 0.62, wobble: 0.02, max: 1 },
  { name: 'azora_cpu_usage_ratio', of: 'all', when: 'running', normal: 0.32, wobble: 0.08, max: 1.5 },
  { name: 'azora_memory_usage_ratio', of: 'all', when: 'running', normal: 0.55, wobble: 0.05, max: 1 },
  {
    name: 'azora_http_request_duration_p95_seconds',
    of: 'apps',
    when: 'serving',
    normal: 0.085,
    wobble: 0.02,
  },
  { name: 'azora_cache_hit_ratio', of: 'apps', when: 'serving', normal: 0.94, wobble: 0.02, max: 1 },
];

/** How long a menu alert's series takes to climb to its figure, ending when the rule's `for` begins. */
const RAMP_MS = 60_000;
/** Episodes kept for ALERTS and past windows. */
const MAX_EPISODES = 200;
const TWO_PI = 2 * Math.PI;

/** 32-bit FNV-1a: a stable number per series, so each wobbles its own way. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Smooth noise in [-1, 1]: two slow waves whose periods and phases depend on the series. */
function noise(key: string, t: number): number {
  const h = hash(key);
  const slow = 6 * 60_000 + (h % 240_000);
  const fast = 70_000 + ((h >>> 8) % 50_000);
  const phase = ((h >>> 16) / 0xffff) * TWO_PI;
  return 0.65 * Math.sin((TWO_PI * t) / slow + phase) + 0.35 * Math.sin((TWO_PI * t) / fast + 2 * phase);
}

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));
const within = (spans: readonly Span[], t: number): Span | undefined =>
  spans.find((s) => s.from <= t && (s.to === undefined || t < s.to));
/** Six decimals: what a ratio needs, without the float noise of a sum. */
const round = (x: number): number => Math.round(x * 1e6) / 1e6;

/** How far (0–1) an episode drives its rule's series at `t`. */
function episodeWeight(episode: Episode, rule: SandboxRule, t: number): number {
  const held = episode.from - rule.forMs;
  const up = clamp01((t - (held - RAMP_MS)) / RAMP_MS);
  // Resolved: it falls back from then on; what a graph drew before the resolve stays as it was.
  const down = episode.to === undefined ? 1 : clamp01(1 - (t - episode.to) / (RAMP_MS / 2));
  return Math.min(up, down);
}

export class SimulatedMetrics {
  private readonly episodes: Episode[] = [];

  constructor(private readonly source: TrafficSource) {}

  /** A menu alert fired, or resolved: the same alertname, namespace and service's open episode ends. */
  record(episode: Episode): void {
    const open = this.episodes.find(
      (e) =>
        e.alertname === episode.alertname &&
        e.namespace === episode.namespace &&
        e.service === episode.service &&
        e.to === undefined,
    );
    if (open && open.from === episode.from) {
      if (episode.to !== undefined) open.to = episode.to;
      return;
    }
    if (open) open.to = episode.from;
    this.episodes.push({ ...episode });
    if (this.episodes.length > MAX_EPISODES) this.episodes.splice(0, this.episodes.length - MAX_EPISODES);
  }

  /** Every series with a sample at any of `times` (ms, ascending), or only those of `names`. */
  series(times: readonly number[], names?: ReadonlySet<string>): RawSeries[] {
    if (times.length === 0) return [];
    const first = times[0]!;
    const last = times[times.length - 1]!;
    const out: RawSeries[] = [];
    const pods = this.source.traffic(first, last);
    for (const metric of METRICS) {
      if (names && !names.has(metric.name)) continue;
      for (const pod of pods) {
        if (metric.of === 'apps' && pod.stateful) continue;
        if (metric.of === 'stateful' && !pod.stateful) continue;
        // The episodes that move this series, found once rather than at every step.
        const episodes = this.episodes.flatMap((episode) => {
          const rule = SANDBOX_RULES[episode.alertname];
          const moves =
            rule?.metric === metric.name &&
            episode.namespace === pod.namespace &&
            episode.service === pod.service;
          return moves ? [{ episode, rule }] : [];
        });
        const values = times.map((t) => this.value(metric, pod, episodes, t));
        if (values.every((v) => v === undefined)) continue;
        out.push({
          labels: { __name__: metric.name, namespace: pod.namespace, service: pod.service, pod: pod.pod },
          values,
        });
      }
    }
    if (!names || names.has('ALERTS')) out.push(...this.alertSeries(times));
    return out;
  }

  private value(
    metric: MetricDef,
    pod: PodHistory,
    episodes: ReadonlyArray<{ episode: Episode; rule: SandboxRule }>,
    t: number,
  ): number | undefined {
    const running = pod.from <= t && (pod.to === undefined || t < pod.to);
    if (!running) return undefined;
    const serving = within(pod.serving, t);
    if (metric.when === 'serving' && !serving) return undefined;
    const key = `${metric.name}/${pod.namespace}/${pod.pod}`;
    const wander = (scale = 1) => metric.wobble * scale * noise(key, t);
    const bound = (x: number) => round(Math.min(metric.max ?? Infinity, Math.max(0, x)));
    let value = metric.normal + wander();
    if (metric.name === 'azora_http_error_ratio' && pod.bad && serving) {
      const half = this.source.badVersionFailAfterMs / 2;
      const w = half <= 0 ? 1 : clamp01((t - serving.from) / half);
      value = (1 - w) * value + w * (badErrorRatio(pod.service, pod.version) + wander(3));
    }
    for (const { episode, rule } of episodes) {
      const w = episodeWeight(episode, rule, t);
      if (w <= 0) continue;
      value = metric.flag
        ? w >= 0.5
          ? rule.firing
          : value
        : (1 - w) * value + w * (rule.firing + wander(0.5));
    }
    return bound(value);
  }

  /** Prometheus' ALERTS: 1 while a menu alert fires. */
  private alertSeries(times: readonly number[]): RawSeries[] {
    const byLabels = new Map<string, RawSeries>();
    for (const e of this.episodes) {
      const labels = {
        __name__: 'ALERTS',
        alertname: e.alertname,
        alertstate: 'firing',
        namespace: e.namespace,
        service: e.service,
        severity: e.severity,
      };
      const key = JSON.stringify(labels);
      const series = byLabels.get(key) ?? { labels, values: times.map(() => undefined) };
      byLabels.set(key, series);
      times.forEach((t, i) => {
        if (e.from <= t && (e.to === undefined || t < e.to)) series.values[i] = 1;
      });
    }
    return [...byLabels.values()].filter((s) => s.values.some((v) => v !== undefined));
  }
}
