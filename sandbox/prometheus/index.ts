import type { Logger } from '../../src/kernel/log';
import { SimulatedMetrics, type Episode, type TrafficSource } from './metrics';
import { PrometheusApi } from './server';

export { generatorUrl, ruleExpression, SANDBOX_RULES } from './rules';
export type { SandboxRule } from './rules';
export { SimulatedMetrics } from './metrics';
export type { Episode, RawSeries, TrafficSource } from './metrics';
export { PrometheusApi } from './server';
export { UNDERSTOOD } from './promql';

export interface SandboxPrometheusOptions {
  /** The simulated cluster: what its apps did is what the series say. */
  cluster: TrafficSource;
  logger?: Logger;
  clock?: () => number;
  port?: number;
}

export interface SandboxPrometheus {
  /** PROMETHEUS_URL for the bot. */
  url: string;
  port: number;
  /** A menu alert fired or resolved: its rule's series follow it. */
  record(episode: Episode): void;
  stop(): Promise<void>;
}

/**
 * The sandbox's Prometheus: its query API over series computed from the simulated cluster,
 * on a loopback port. Built in rather than Debian's prometheus: what it answers is the
 * cluster's state at any moment asked, the past before the sandbox started included, with
 * nothing to scrape, back-fill or install.
 */
export async function startSandboxPrometheus(options: SandboxPrometheusOptions): Promise<SandboxPrometheus> {
  const metrics = new SimulatedMetrics(options.cluster);
  const api = await new PrometheusApi({
    source: (times, names) => metrics.series(times, names),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
  }).start();
  return {
    url: api.url,
    port: api.port,
    record: (episode) => metrics.record(episode),
    stop: () => api.stop(),
  };
}
