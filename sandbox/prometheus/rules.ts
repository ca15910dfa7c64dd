import type { Policy } from '../../src/config/policy';

/**
 * The sandbox's alert rules: the chart's (charts/azora-chatops/files/prometheus-rules.yaml),
 * each written over the one series the sandbox's Prometheus keeps per pod for it, as a
 * recording rule would have made it (the error ratio, not the request counters it is the
 * rate of). Same names, thresholds and `for` as the chart's, so a graph shows the line the
 * chart's rule compares.
 */

export type MetricName =
  | 'azora_up'
  | 'azora_http_error_ratio'
  | 'azora_pg_up'
  | 'azora_volume_usage_ratio'
  | 'azora_cpu_usage_ratio'
  | 'azora_memory_usage_ratio'
  | 'azora_http_request_duration_p95_seconds'
  | 'azora_cache_hit_ratio';

export interface SandboxRule {
  alertname: string;
  metric: MetricName;
  /** How the pods' series become one per service. */
  aggregation: 'avg' | 'max';
  op: '>' | '<' | '==';
  threshold: number;
  /** How long the comparison holds before the alert fires (the chart's `for`). */
  forMs: number;
  /** What the metric reads while the menu's alert fires: the figure its summary states. */
  firing: number;
}

const MINUTE = 60_000;

export const SANDBOX_RULES: Readonly<Record<string, SandboxRule>> = {
  AzoraServiceDown: {
    alertname: 'AzoraServiceDown',
    metric: 'azora_up',
    aggregation: 'max',
    op: '==',
    threshold: 0,
    forMs: MINUTE,
    firing: 0,
  },
  AzoraHighErrorRate: {
    alertname: 'AzoraHighErrorRate',
    metric: 'azora_http_error_ratio',
    aggregation: 'avg',
    op: '>',
    threshold: 0.05,
    forMs: 2 * MINUTE,
    firing: 0.073,
  },
  AzoraDatabaseConnectionFailures: {
    alertname: 'AzoraDatabaseConnectionFailures',
    metric: 'azora_pg_up',
    aggregation: 'max',
    op: '==',
    threshold: 0,
    forMs: MINUTE,
    firing: 0,
  },
  AzoraDiskUsageHigh: {
    alertname: 'AzoraDiskUsageHigh',
    metric: 'azora_volume_usage_ratio',
    aggregation: 'max',
    op: '>',
    threshold: 0.9,
    forMs: 5 * MINUTE,
    firing: 0.93,
  },
  AzoraHighCPU: {
    alertname: 'AzoraHighCPU',
    metric: 'azora_cpu_usage_ratio',
    aggregation: 'avg',
    op: '>',
    threshold: 0.7,
    forMs: 5 * MINUTE,
    firing: 0.84,
  },
  AzoraHighMemory: {
    alertname: 'AzoraHighMemory',
    metric: 'azora_memory_usage_ratio',
    aggregation: 'avg',
    op: '>',
    threshold: 0.8,
    forMs: 5 * MINUTE,
    firing: 0.88,
  },
  AzoraHighLatencyP95: {
    alertname: 'AzoraHighLatencyP95',
    metric: 'azora_http_request_duration_p95_seconds',
    aggregation: 'max',
    op: '>',
    threshold: 0.2,
    forMs: 5 * MINUTE,
    firing: 0.34,
  },
  AzoraLowCacheHitRate: {
    alertname: 'AzoraLowCacheHitRate',
    metric: 'azora_cache_hit_ratio',
    aggregation: 'avg',
    op: '<',
    threshold: 0.8,
    forMs: 10 * MINUTE,
    firing: 0.61,
  },
};

/** `azora-production|azora-staging`: the policy's namespaces, as the chart's rules match theirs. */
function namespacePattern(policy: Policy): string {
  const namespaces = Object.values(policy.environments).flatMap((env) => (env ? [env.namespace] : []));
  return [...new Set(namespaces)]
    .sort()
    .map((ns) => ns.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|');
}

/**
 * The rule's expression, as its alerts' generatorURL carries it (`g0.expr`). An alert the
 * sandbox has no rule for is graphed from Prometheus' own ALERTS series.
 */
export function ruleExpression(alertname: string, policy: Policy): string {
  const rule = SANDBOX_RULES[alertname];
  if (!rule) return `ALERTS{alertname=${JSON.stringify(alertname)}, alertstate="firing"}`;
  const selector = `${rule.metric}{namespace=~${JSON.stringify(namespacePattern(policy))}}`;
  return `${rule.aggregation} by (namespace, service) (${selector}) ${rule.op} ${rule.threshold}`;
}

/** A Prometheus link to the rule's expression, as Prometheus writes an alert's generatorURL. */
export function generatorUrl(prometheusUrl: string, expr: string): string {
  return `${prometheusUrl.replace(/\/+$/, '')}/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=1`;
}
