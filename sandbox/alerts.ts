import { createHash } from 'node:crypto';
import type { Policy } from '../src/config/policy';
import type { Notification } from '../src/alerts/domain/payload';
import { generatorUrl, ruleExpression } from './prometheus/rules';

/** One alert the sandbox can fire, as Prometheus' rules in the infrastructure guide would. */
export interface SandboxAlert {
  alertname: string;
  severity: 'critical' | 'warning';
  service: string;
  summary: string;
  description: string;
  /** The rule's expression, which the alert's generatorURL carries (`g0.expr`): its graph. */
  expr: string;
}

/** The guide's alert rules: thresholds and the services they typically hit. */
const KNOWN: Record<string, Omit<SandboxAlert, 'alertname' | 'expr'>> = {
  AzoraServiceDown: {
    severity: 'critical',
    service: 'payment',
    summary: 'payment has had no ready endpoint for more than 1 minute',
    description: 'Blackbox probes of /api/pay/health fail from every zone.',
  },
  AzoraHighErrorRate: {
    severity: 'critical',
    service: 'api-gateway',
    summary: 'api-gateway answers 5xx to 7.3% of requests (threshold 5%)',
    description: 'The 5xx ratio over 5 minutes has been above 5% for 2 minutes.',
  },
  AzoraDatabaseConnectionFailures: {
    severity: 'critical',
    service: 'education',
    summary: 'education cannot open PostgreSQL connections',
    description: 'pg pool errors: "remaining connection slots are reserved".',
  },
  AzoraDiskUsageHigh: {
    severity: 'critical',
    service: 'postgres-replica',
    summary: 'postgres-replica-0 data volume is 93% full (threshold 90%)',
    description: 'At the current growth rate the volume is full in about 6 hours.',
  },
  AzoraHighCPU: {
    severity: 'warning',
    service: 'api-gateway',
    summary: 'api-gateway CPU at 84% of requests (threshold 70%)',
    description: 'Average CPU over 10 minutes across the live pods.',
  },
  AzoraHighMemory: {
    severity: 'warning',
    service: 'education',
    summary: 'education memory at 88% of limits (threshold 80%)',
    description: 'Working-set memory over 10 minutes across the live pods.',
  },
  AzoraHighLatencyP95: {
    severity: 'warning',
    service: 'api-gateway',
    summary: 'api-gateway p95 latency 340 ms (threshold 200 ms)',
    description: 'histogram_quantile(0.95) of request durations over 5 minutes.',
  },
  AzoraLowCacheHitRate: {
    severity: 'warning',
    service: 'auth',
    summary: 'auth Redis cache hit rate 61% (threshold 80%)',
    description: 'Session lookups miss the cache and fall through to PostgreSQL.',
  },
};

/** Every alert the policy has runbooks for; names the guide does not know get plain defaults. */
export function sandboxAlerts(policy: Policy): SandboxAlert[] {
  const firstService = Object.keys(policy.services)[0] ?? 'api-gateway';
  return Object.keys(policy.alerts.runbooks).map((alertname) => {
    const known = KNOWN[alertname];
    const expr = ruleExpression(alertname, policy);
    if (known && policy.services[known.service]) return { alertname, ...known, expr };
    return {
      alertname,
      expr,
      severity: known?.severity ?? 'warning',
      service: firstService,
      summary: known?.summary ?? `${alertname} on ${firstService}`,
      description: known?.description ?? 'Fired from the sandbox.',
    };
  });
}

export interface AlertEpisode {
  startsAt: string;
  /** Set once resolved. */
  endsAt?: string;
}

/** How the sandbox's Alertmanager groups alerts, as the chart's Alertmanager route does. */
export const GROUP_BY = ['alertname', 'namespace', 'service'] as const;
/** The receiver's name in the sandbox's Alertmanager, and in the notifications it sends. */
export const RECEIVER = 'azora-chatops';
/** What Alertmanager writes as the end of an alert that still fires. */
const STILL_FIRING = '0001-01-01T00:00:00Z';

/** One alert as Prometheus pushes it to Alertmanager (POST /api/v2/alerts), and as a webhook carries it. */
export interface PushedAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  /** Set once resolved. */
  endsAt?: string;
  generatorURL: string;
}

/**
 * A sandbox alert with its labels and annotations, as Prometheus' rule would push it, its
 * generatorURL a link to the rule's expression in the Prometheus at `prometheusUrl`.
 */
export function pushedAlert(
  alert: SandboxAlert,
  namespace: string,
  episode: AlertEpisode,
  runbookUrl: string,
  prometheusUrl: string,
): PushedAlert {
  return {
    labels: {
      alertname: alert.alertname,
      namespace,
      service: alert.service,
      severity: alert.severity,
      team: 'sre',
      prometheus: 'monitoring/azora',
    },
    annotations: { summary: alert.summary, description: alert.description, runbook_url: runbookUrl },
    startsAt: episode.startsAt,
    ...(episode.endsAt ? { endsAt: episode.endsAt } : {}),
    generatorURL: generatorUrl(prometheusUrl, alert.expr),
  };
}

/**
 * An Alertmanager webhook notification (version 4) for one alert in its own group, as
 * Alertmanager would send it with `group_by: [alertname, namespace, service]`.
 */
export function alertNotification(
  alert: SandboxAlert,
  namespace: string,
  episode: AlertEpisode,
  runbookUrl: string,
  externalUrl: string,
  prometheusUrl = externalUrl,
): Notification {
  return webhookNotification(
    [pushedAlert(alert, namespace, episode, runbookUrl, prometheusUrl)],
    externalUrl,
  );
}

/** The labels an alert is grouped by: those of GROUP_BY it has. */
export function groupLabelsOf(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(GROUP_BY.filter((name) => name in labels).map((name) => [name, labels[name]!]));
}

/** Alertmanager's group key for the root route: `{}:` and the group labels, sorted by name. */
export function groupKeyOf(labels: Record<string, string>): string {
  const groupLabels = groupLabelsOf(labels);
  const pairs = Object.keys(groupLabels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(groupLabels[k])}`);
  return `{}:{${pairs.join(', ')}}`;
}

/**
 * The version-4 webhook notification Alertmanager sends for the alerts of one group (all
 * in the same group): firing while any of them fires; the common labels and annotations
 * are those every alert has with the same value.
 */
export function webhookNotification(alerts: readonly PushedAlert[], externalUrl: string): Notification {
  const first = alerts[0];
  if (!first) throw new Error('a notification carries at least one alert');
  const status = alerts.some((a) => !a.endsAt) ? 'firing' : 'resolved';
  return {
    version: '4',
    groupKey: groupKeyOf(first.labels),
    truncatedAlerts: 0,
    status,
    receiver: RECEIVER,
    groupLabels: groupLabelsOf(first.labels),
    commonLabels: common(alerts.map((a) => a.labels)),
    commonAnnotations: common(alerts.map((a) => a.annotations)),
    externalURL: externalUrl,
    alerts: alerts.map((a) => ({
      status: a.endsAt ? 'resolved' : 'firing',
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      endsAt: a.endsAt ?? STILL_FIRING,
      generatorURL: a.generatorURL,
      fingerprint: fingerprint(a.labels),
    })),
  };
}

function common(sets: ReadonlyArray<Record<string, string>>): Record<string, string> {
  const [first, ...rest] = sets;
  return Object.fromEntries(
    Object.entries(first ?? {}).filter(([k, v]) => rest.every((set) => set[k] === v)),
  );
}

/** Alertmanager's fingerprint: 16 hex digits that depend only on the label set. */
export function fingerprint(labels: Record<string, string>): string {
  const canonical = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u00ff${labels[k]}`)
    .join('\u00ff');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}
