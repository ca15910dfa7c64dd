import type { WebClient } from '@slack/web-api';
import type { AlertmanagerClient } from './adapters/alertmanager';
import type { Kubernetes } from './adapters/kubernetes/kubernetes';
import type { PagerDuty } from './adapters/pagerduty';
import type { SlackOutbox } from './adapters/slack/outbox';
import type { ApproverDirectory } from './adapters/slack/approvers';
import type { SlackMessenger } from './adapters/slack/messenger';
import type { Policy } from './config/policy';
import type { Logger } from './log';
import type { MaintenanceScheduler } from './operations/maintenance';
import type { Metrics } from './metrics';
import type { Queues } from './queue/queues';
import type { AlertStore } from './stores/alerts';
import type { AuditLog } from './stores/audit';
import type { ChangeLocks } from './stores/locks';
import type { MaintenanceStore } from './stores/maintenance';
import type { RequestStore } from './stores/requests';

/** Everything handlers and jobs may use, built once by the composition root. */
export interface Services {
  policy: Policy;
  logger: Logger;
  metrics: Metrics;
  slack: WebClient;
  messenger: SlackMessenger;
  approvers: ApproverDirectory;
  /** Paced, coalescing writes to Slack channels (alert threads, digests). */
  outbox: SlackOutbox;
  kube: Kubernetes;
  pagerduty: PagerDuty;
  /** Absent without ALERTMANAGER_URL: no silences then. */
  alertmanager?: AlertmanagerClient;
  alerts: AlertStore;
  maintenance: MaintenanceScheduler;
  maintenanceWindows: MaintenanceStore;
  requests: RequestStore;
  locks: ChangeLocks;
  audit: AuditLog;
  queues: Queues;
  /** Deadlines for waits inside jobs; tests shorten them. */
  timing: { rolloutDeadlineMs: number; endpointsDeadlineMs: number };
  now(): number;
}
