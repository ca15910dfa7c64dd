import type { CoreDeps } from '../deps';
import type { AlertChange, AlertGroup } from '../alerts/domain/group';
import type { AuditEvent } from '../kernel/audit';
import type { EnvironmentName } from '../kernel/domain/environment';
import { applyEntry, link } from './domain/lifecycle';
import { concerns, type TimelineEntry, type TimelineKind } from './domain/timeline';

/** Something the bot saw or did, as an incident's timeline may take it. */
export interface BotEvent {
  kind: TimelineKind;
  actor: string;
  at: number;
  text: string;
  environment?: EnvironmentName;
  services?: readonly string[];
  alertGroup?: string;
  request?: string;
  /** Its identity: delivered twice, it is one entry. */
  key: string;
}

/** Audit events that belong in a timeline, and as what. */
const FROM_AUDIT: Readonly<Record<string, TimelineKind>> = {
  requested: 'request',
  approved: 'approval',
  denied: 'approval',
  succeeded: 'change-succeeded',
  failed: 'change-failed',
  'auto-switch-back': 'request',
  'maintenance-scheduled': 'request',
  'backup-succeeded': 'change-succeeded',
  'backup-failed': 'change-failed',
};

const isEnvironment = (env: string | undefined): env is EnvironmentName =>
  env === 'staging' || env === 'production';

export function fromAudit(event: AuditEvent): BotEvent | undefined {
  const kind = FROM_AUDIT[event.type];
  if (!kind) return undefined;
  return {
    kind,
    actor: event.actor,
    at: event.at,
    text: `${event.type}${event.request ? ` ${event.request}` : ''}: ${event.detail}`,
    ...(isEnvironment(event.environment) ? { environment: event.environment } : {}),
    ...(event.services ? { services: event.services } : {}),
    ...(event.request ? { request: event.request } : {}),
    key: `audit:${event.type}:${event.request ?? ''}:${event.at}`,
  };
}

/**
 * The timeline writes itself: a bot event goes into every open incident it concerns (by
 * environment and service, or because its alert group or request is linked), and the
 * incident keeps its first acknowledgement and first successful change for the metrics.
 * With no open incident this is one Redis read.
 */
export async function feed(deps: Pick<CoreDeps, 'incidents'>, event: BotEvent): Promise<number> {
  const open = await deps.incidents.open();
  let fed = 0;
  for (const incident of open) {
    const scopes = event.services?.length ? event.services.map((service) => ({ service })) : [{}];
    const hit = scopes.some((scope) =>
      concerns(incident, {
        ...scope,
        ...(event.environment ? { environment: event.environment } : {}),
        ...(event.alertGroup ? { alertGroup: event.alertGroup } : {}),
        ...(event.request ? { request: event.request } : {}),
      }),
    );
    if (!hit) continue;
    const entry: TimelineEntry = {
      at: event.at,
      actor: event.actor,
      kind: event.kind,
      text: event.text,
      key: event.key,
    };
    await deps.incidents.change(incident.id, (current) => {
      // Resolved since the open ones were read: its timeline ends with the postmortem.
      if (current.status === 'resolved') return { verdict: null };
      let next = applyEntry(current, entry);
      if (event.request && event.kind === 'request') next = link(next, 'requests', event.request);
      return { next, entry, verdict: null };
    });
    fed += 1;
  }
  return fed;
}

/** An alert group opening, firing again or resolving, as timeline events (none for a group that names no environment). */
export function fromAlertGroup(
  group: Pick<AlertGroup, 'id' | 'alertname' | 'summary' | 'environment' | 'service' | 'episode'>,
  changes: readonly Pick<AlertChange, 'kind'>[],
  at: number,
): BotEvent[] {
  return changes.flatMap((change): BotEvent[] => {
    const kind =
      change.kind === 'opened' || change.kind === 'reopened'
        ? 'alert-opened'
        : change.kind === 'resolved'
          ? 'alert-resolved'
          : undefined;
    if (!kind) return [];
    return [
      {
        kind,
        actor: 'alertmanager',
        at,
        text: `${group.alertname} ${kind === 'alert-opened' ? 'fired' : 'resolved'}: ${group.summary}`,
        ...(group.environment ? { environment: group.environment } : {}),
        ...(group.service ? { services: [group.service] } : {}),
        alertGroup: group.id,
        key: `alert:${group.id}:${group.episode}:${kind}`,
      },
    ];
  });
}

/** A person acting on an alert thread (Acknowledge, Silence), as a timeline event. */
export function alertActionEvent(
  group: Pick<AlertGroup, 'id' | 'alertname' | 'environment' | 'service'>,
  kind: 'acknowledge' | 'silence',
  user: string,
  at: number,
  what: string,
): BotEvent {
  return {
    kind,
    actor: user,
    at,
    text: `${group.alertname} ${what}`,
    ...(group.environment ? { environment: group.environment } : {}),
    ...(group.service ? { services: [group.service] } : {}),
    alertGroup: group.id,
    key: `${kind}:${group.id}:${at}`,
  };
}
