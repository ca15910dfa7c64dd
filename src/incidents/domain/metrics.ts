import type { Incident } from './incident';
import type { Timeline, TimelineKind } from './timeline';

/** How the response went, in milliseconds from the start; absent when it did not happen. */
export interface IncidentMetrics {
  startedAt: number;
  acknowledgedAt: number;
  mitigatedAt?: number;
  resolvedAt?: number;
  toAcknowledge: number;
  toMitigate?: number;
  toResolve?: number;
}

const first = (timeline: Timeline, kind: TimelineKind): number | undefined =>
  timeline.entries.find((e) => e.kind === kind)?.at;

const earliest = (...times: Array<number | undefined>): number | undefined => {
  const known = times.filter((t) => t !== undefined);
  return known.length > 0 ? Math.min(...known) : undefined;
};

/**
 * Time to acknowledge, to mitigate and to resolve. The incident starts when its first
 * linked alert opened (the one it was declared from, kept on it; later ones the wiring
 * writes into the timeline), or when it
 * was declared if that was earlier or no alert is linked: customers were hurt from the
 * alert on, not from the declaration. Declaring is acknowledging (a person saw it and
 * acted), so time to acknowledge is always known: it is the first acknowledgement or the
 * declaration, whichever came first. Mitigated is the first change that succeeded: none,
 * no time to mitigate (it went away on its own, or was fixed outside the bot). The
 * incident's own fields count too, as the timeline may have dropped its middle.
 */
export function metrics(incident: Incident, timeline: Timeline): IncidentMetrics {
  const startedAt =
    earliest(incident.declaredAt, incident.alertOpenedAt, first(timeline, 'alert-opened')) ??
    incident.declaredAt;
  const since = (at: number) => Math.max(0, at - startedAt);
  const acknowledgedAt =
    earliest(incident.acknowledgedAt, first(timeline, 'acknowledge'), incident.declaredAt) ??
    incident.declaredAt;
  const mitigatedAt = earliest(incident.mitigatedAt, first(timeline, 'change-succeeded'));
  const resolvedAt = incident.resolvedAt;
  return {
    startedAt,
    acknowledgedAt,
    toAcknowledge: since(acknowledgedAt),
    ...(mitigatedAt !== undefined ? { mitigatedAt, toMitigate: since(mitigatedAt) } : {}),
    ...(resolvedAt !== undefined ? { resolvedAt, toResolve: since(resolvedAt) } : {}),
  };
}
