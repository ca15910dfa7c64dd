import type { IncidentPolicy, IncidentSeverity } from '../../config/policy';
import type { EnvironmentName } from '../../kernel/domain/environment';
import { bounded } from '../../kernel/domain/text';
import { oneLine } from './text';

export type { IncidentSeverity };

/** The statuses a commander posts, in the order an incident usually goes through them. */
export const INCIDENT_STATUSES = ['investigating', 'identified', 'monitoring', 'resolved'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** One declared incident: what the store keeps and the pinned summary shows. */
export interface Incident {
  /** Short, stable id, safe in Redis keys and button ids. */
  id: string;
  title: string;
  severity: IncidentSeverity;
  status: IncidentStatus;
  /** What it is about: its timeline takes the bot's events for these (see `concerns`). */
  environment?: EnvironmentName;
  services: string[];
  /** The incident channel's id, and its name (for the postmortem and the list, read outside it). */
  channel: string;
  channelName: string;
  /** Slack user ids. */
  commander: string;
  declaredBy: string;
  declaredAt: number;
  /** The first acknowledgement (the alert's Acknowledge button, PagerDuty). */
  acknowledgedAt?: number;
  /** The first change that succeeded while it was open. */
  mitigatedAt?: number;
  resolvedAt?: number;
  /** What resolved it, in the resolver's words. */
  resolution?: string;
  /** Who resolved it (the commander, or anyone else in the channel). */
  resolvedBy?: string;
  /** When the alert it was declared from opened: what its times are counted from. */
  alertOpenedAt?: number;
  /** Linked alert groups (AlertGroup.id): the one it was declared from, and any linked later. */
  alertGroups: string[];
  /**
   * The PagerDuty incident: `id` is its dedup key (what the Events API knows); once the REST
   * API found it, its own id and page, and the channel's link is a note on it.
   */
  pagerduty?: { id: string; url?: string; incidentId?: string };
  /** Linked change requests (OpsRequest.id). */
  requests: string[];
  /** The last status update (a status, severity or commander change): the nudge counts from it. */
  lastStatusAt: number;
  /** The last nudge, so that it comes once per interval. */
  nudgedAt?: number;
  /** The pinned summary message in the channel, edited as the incident changes. */
  summaryTs?: string;
}

/** Titles are read in the channel topic, the list and the postmortem's heading: one line, bounded. */
export const TITLE_MAX = 200;

/** A title as typed or as an alert's summary: one line, at most TITLE_MAX; empty when nothing is left. */
export const incidentTitle = (text: string): string => bounded(oneLine(text), TITLE_MAX);

export const isSeverity = (word: string): word is IncidentSeverity =>
  word === 'sev1' || word === 'sev2' || word === 'sev3';

export const isStatus = (word: string): word is IncidentStatus =>
  (INCIDENT_STATUSES as readonly string[]).includes(word);

/** Resolved is final: see `changeStatus`. */
export const isOpen = (incident: Pick<Incident, 'status'>): boolean => incident.status !== 'resolved';

export const severityLabel = (severity: IncidentSeverity): string => severity.toUpperCase();

export const statusLabel = (status: IncidentStatus): string =>
  `${status.charAt(0).toUpperCase()}${status.slice(1)}`;

/**
 * The severity of an incident declared from an alert thread. An alert severity the policy
 * does not map gives sev3: raising it is one command, while a sev1 nobody meant pages
 * people in the night.
 */
export function severityForAlert(policy: IncidentPolicy, alertSeverity: string): IncidentSeverity {
  return policy.fromAlertSeverity[alertSeverity] ?? 'sev3';
}

/** Whether an incident of this severity gets a PagerDuty incident. */
export const pagesPagerDuty = (policy: IncidentPolicy, severity: IncidentSeverity): boolean =>
  policy.pagerduty.includes(severity);

/** The PagerDuty escalation policies whose on-call is invited: one per service, each once. */
export function escalationPoliciesFor(policy: IncidentPolicy, services: readonly string[]): string[] {
  const ids = services.map((s) => policy.escalationPolicies[s]).filter((id) => id !== undefined);
  return [...new Set(ids)];
}

/** The dedup key of the PagerDuty incident a declaration opens of its own. */
export const incidentPageKey = (id: string): string => `azora-incident-${id}`;

/** A link that opens the incident's channel in Slack, for PagerDuty's pages and notes. */
export const channelUrl = (channel: string): string => `https://slack.com/app_redirect?channel=${channel}`;
