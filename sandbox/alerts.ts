import { createHash } from 'node:crypto';
import type { Policy } from '../src/config/policy';
import type { Notification } from '../src/alerts/domain/payload';

/** One alert the sandbox can fire, as Prometheus' rules in the infrastructure guide would. */
export interface SandboxAlert {
  alertname: string;
  severity: 'critical' | 'warning';
  service: string;
  summary: string;
  description: string;
}

/** The guide's alert rules: thresholds and the services they typically hit. */
const KNOWN: Record<string, Omit<SandboxAlert, 'alertname'>> = {
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
    if (known && policy.services[known.service]) return { alertname, ...known };
    return {
      alertname,
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
): Notification {
  const groupLabels = { alertname: alert.alertname, namespace, service: alert.service };
  const labels = { ...groupLabels, severity: alert.severity, team: 'sre', prometheus: 'monitoring/azora' };
  const annotations = { summary: alert.summary, description: alert.description, runbook_url: runbookUrl };
  const status = episode.endsAt ? 'resolved' : 'firing';
  return {
    version: '4',
    groupKey: `{}:{${Object.entries(groupLabels)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(', ')}}`,
    truncatedAlerts: 0,
    status,
    receiver: 'azora-chatops',
    groupLabels,
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: externalUrl,
    alerts: [
      {
        status,
        labels,
        annotations,
        startsAt: episode.startsAt,
        endsAt: episode.endsAt ?? '0001-01-01T00:00:00Z',
        generatorURL: `${externalUrl}/graph?g0.expr=${encodeURIComponent(`ALERTS{alertname="${alert.alertname}"}`)}`,
        fingerprint: fingerprint(labels),
      },
    ],
  };
}

/** Alertmanager's fingerprint: 16 hex digits that depend only on the label set. */
export function fingerprint(labels: Record<string, string>): string {
  const canonical = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u00ff${labels[k]}`)
    .join('\u00ff');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}
