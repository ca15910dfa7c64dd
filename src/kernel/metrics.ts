import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The bot's own metrics; every name starts with `azora_` so dashboards can select them. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'azora_' });
  return {
    registry,
    slackRequests: new Counter({
      name: 'azora_slack_requests_total',
      help: 'Slack requests handled, by kind (command, action) and outcome',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),
    commands: new Counter({
      name: 'azora_commands_total',
      help: '/azora commands by verb and outcome (accepted, refused, failed: its job could not be built, unqueued: Redis could not take the work)',
      labelNames: ['verb', 'outcome'] as const,
      registers: [registry],
    }),
    jobs: new Counter({
      name: 'azora_jobs_total',
      help: 'Jobs finished (BullMQ jobs; Alertmanager notifications from the alert inbox as queue alerts), by queue, name and outcome',
      labelNames: ['queue', 'name', 'outcome'] as const,
      registers: [registry],
    }),
    slackCalls: new Counter({
      name: 'azora_slack_api_calls_total',
      help: 'Slack Web API calls made by the outbox, by method and outcome (ok, rate-limited, error)',
      labelNames: ['method', 'outcome'] as const,
      registers: [registry],
    }),
    webhookAlerts: new Counter({
      name: 'azora_alertmanager_alerts_total',
      help: 'Alerts received in Alertmanager notifications and stored, by notification status',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'azora_access_refusals_total',
      help: 'Commands and clicks refused by the access policy, by what was missing (view, request, respond, approve, channel)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'azora_rate_limited_total',
      help: 'Commands and clicks refused by a per-user rate limit, by limit (commands, changes, follows)',
      labelNames: ['limit'] as const,
      registers: [registry],
    }),
    replays: new Counter({
      name: 'azora_slack_replays_total',
      help: 'Slack deliveries seen before (same user and trigger id or action_ts) and ignored, by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: 'azora_job_duration_seconds',
      help: 'Time a job spent running, by queue and name',
      labelNames: ['queue', 'name'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * A gauge read from Redis when scraped: state every worker shares, so every worker
 * reports the same figure (its help says so).
 */
export function watchShared(
  metrics: Metrics,
  gauge: { name: string; help: string },
  read: () => Promise<number>,
): void {
  new Gauge({
    name: gauge.name,
    help: `${gauge.help} (shared in Redis: every worker reports the same figure)`,
    registers: [metrics.registry],
    async collect() {
      this.set(await read());
    },
  });
}
