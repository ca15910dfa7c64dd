import type { WebClient } from '@slack/web-api';
import type { AlertmanagerClient } from './kernel/alertmanager';
import type { ClusterPort } from './kernel/kubernetes/port';
import type { PagerDuty } from './kernel/pagerduty/pagerduty';
import type { SlackOutbox } from './kernel/slack/outbox';
import type { AccessDirectory } from './access/directory';
import type { SlackMessenger } from './kernel/slack/messenger';
import type { Policy } from './config/policy';
import type { Logger } from './kernel/log';
import type { MaintenanceScheduler } from './maintenance/scheduler';
import type { Metrics } from './kernel/metrics';
import type { Queues } from './kernel/queue/queues';
import { implement, type JobInfo } from './kernel/queue/define';
import type { AlertStore } from './alerts/store';
import type { AlertInbox } from './alerts/inbox';
import type { AuditLog } from './kernel/audit';
import type { RequestGate } from './access/gate';
import type { ChangeLocks } from './requests/locks';
import type { MaintenanceStore } from './maintenance/store';
import type { RequestStore } from './requests/store';
import type { RunbookClaims } from './requests/runbooks';
import type { ReleaseIndex } from './releases/store';
import type { BackupIndex } from './backups/store';
import type { IncidentStore } from './incidents/store';
import type { GraphDeps } from './graphs';

/**
 * What every role builds: stores, queues and Slack. The web role's handlers need no more,
 * so a web process never loads the Kubernetes or PagerDuty clients.
 */
export interface CoreDeps {
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
  /** Alertmanager's notifications, stored by the webhook until a worker has handled them. */
  alertInbox: AlertInbox;
  maintenance: MaintenanceScheduler;
  maintenanceWindows: MaintenanceStore;
  requests: RequestStore;
  locks: ChangeLocks;
  /** Replays, per-user rate limits and log-follow slots. */
  gate: RequestGate;
  runbooks: RunbookClaims;
  /** The release history's index and the bake windows. */
  releases: ReleaseIndex;
  /** The backups' reports, by environment. */
  backups: BackupIndex;
  incidents: IncidentStore;
  audit: AuditLog;
  queues: Queues;
  now(): number;
}

/** Everything jobs may use: the core plus the clients only worker processes load. */
export interface Deps extends CoreDeps {
  kube: ClusterPort;
  pagerduty: PagerDuty;
  /** Alert graphs: Prometheus (absent without PROMETHEUS_URL), the drawn-once claims, the audit window. */
  graphs: GraphDeps;
  /** How long the jobs wait for the cluster, and how often a long step's progress is redrawn; tests shorten them. */
  timing: { rolloutDeadlineMs: number; endpointsDeadlineMs: number; progressEveryMs: number };
}

/** What a processor gets: the worker's dependencies, and which attempt of which job this is. */
export type JobContext = Deps & { job: JobInfo };

/** Implements a job contract with the worker's context. */
export const defineJob = implement<JobContext>();
