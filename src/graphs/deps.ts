import { PrometheusClient, type PrometheusOptions } from '../kernel/prometheus';
import type { RedisClient } from '../kernel/redis';
import { AuditStreamWindow } from './changes';
import { GraphClaims } from './claims';
import type { GraphSettings } from '../config/policy';
import type { GraphDeps } from './draw';

/** The worker's graph dependencies; without Prometheus options (no PROMETHEUS_URL) nothing is drawn. */
export function createGraphDeps(
  redis: RedisClient,
  prefix: string,
  settings: GraphSettings,
  prometheus: Omit<PrometheusOptions, 'timeoutMs'> | undefined,
): GraphDeps {
  return {
    settings,
    ...(prometheus
      ? { prometheus: new PrometheusClient({ ...prometheus, timeoutMs: settings.deadline }) }
      : {}),
    claims: new GraphClaims(redis, prefix),
    audit: new AuditStreamWindow(redis, prefix),
  };
}
