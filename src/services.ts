import type { WebClient } from '@slack/web-api';
import type { AlertmanagerClient } from './adapters/alertmanager';
import type { Kubernetes } from './adapters/kubernetes/kubernetes';
import type { PagerDuty } from './adapters/pagerduty';
import type { SlackOutbox } from './adapters/slack/outbox';
import type { AccessDirectory } from './adapters/slack/access';
import type { SlackMessenger } from './adapters/slack/messenger';
import type { Policy } from './config/policy';
import type { Logger } from './log';
import type { MaintenanceScheduler } from './operations/maintenance';
import type { Metrics } from './metrics';
import type { Queues } from './queue/queues';
import type { AlertStore } from './stores/alerts';
import type { AuditLog } from './stores/audit';
import type { RequestGate } from './stores/gate';
import type { ChangeLocks } from './stores/locks';
import type { MaintenanceStore } from './stores/maintenance';
import type { RequestStore } from './stores/requests';
import type { RunbookClaims } from './stores/runbooks';

/**
 * What every role builds: stores, queues and Slack. The web role's handlers need no more,
 * so a web process never loads the Kubernetes or PagerDuty clients.
 */
export interface CoreServices {
  policy: Policy;
  logger: Logger;
  metrics: Metrics;
  slack: WebClient;
  messenger: SlackMessenger;
  /** Who may view, request, respond and approve, per environment (the policy, with Slack's user groups). */
  access: AccessDirectory;
  /** Paced, coalescing writes to Slack channels (alert threads, digests). */
  outbox: SlackOutbox;
  /** Absent without ALERTMANAGER_URL: no silences then. */
  alertmanager?: AlertmanagerClient;
  alerts: AlertStore;
  maintenance: MaintenanceScheduler;
  maintenanceWindows: MaintenanceStore;
  requests: RequestStore;
  locks: ChangeLocks;
  /** Replays, per-user rate limits and log-follow slots. */
  gate: RequestGate;
  runbooks: RunbookClaims;
  audit: AuditLog;
  queues: Queues;
  now(): number;
}

/** Everything jobs may use: the core plus the clients only worker processes load. */
export interface Services extends CoreServices {
  kube: Kubernetes;
  pagerduty: PagerDuty;
  /** Deadlines for waits inside jobs; tests shorten them. */
  timing: { rolloutDeadlineMs: number; endpointsDeadlineMs: number };
}
