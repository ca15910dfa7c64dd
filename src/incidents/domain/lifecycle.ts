import type { EnvironmentName } from '../../kernel/domain/environment';
import { Refusal } from '../../kernel/domain/refusal';
import {
  incidentTitle,
  isOpen,
  severityLabel,
  statusLabel,
  type Incident,
  type IncidentSeverity,
  type IncidentStatus,
} from './incident';
import { ENTRY_TEXT_MAX, type TimelineEntry } from './timeline';
import { bounded } from '../../kernel/domain/text';
import { oneLine, utcMinute } from './text';

/** What a change did, with the timeline entry that says so; or why it was refused, changing nothing. */
export type Change = { ok: true; incident: Incident; entry: TimelineEntry } | { ok: false; reason: string };

export interface Declaration {
  id: string;
  /** As typed, or the alert's summary: made one line and bounded here. */
  title: string;
  severity: IncidentSeverity;
  environment?: EnvironmentName;
  services?: readonly string[];
  channel: string;
  channelName: string;
  declaredBy: string;
  at: number;
  /** The alert group it was declared from. */
  alertGroup?: string;
  /** When that alert opened: the incident began then, not at its declaration. */
  alertOpenedAt?: number;
  pagerduty?: Incident['pagerduty'];
}

/**
 * A new incident, investigating, with the declarer as commander: an incident always has
 * someone to nudge, and whoever declares is the one in it until someone takes over.
 * Declaring is a status update: the nudge counts from it.
 */
export function declareIncident(d: Declaration): { incident: Incident; entry: TimelineEntry } {
  const title = incidentTitle(d.title);
  if (!title) throw new Refusal('input', 'an incident needs a title: what is wrong, in a few words');
  const incident: Incident = {
    id: d.id,
    title,
    severity: d.severity,
    status: 'investigating',
    ...(d.environment ? { environment: d.environment } : {}),
    services: [...new Set(d.services ?? [])],
    channel: d.channel,
    channelName: d.channelName,
    commander: d.declaredBy,
    declaredBy: d.declaredBy,
    declaredAt: d.at,
    alertGroups: d.alertGroup ? [d.alertGroup] : [],
    ...(d.alertOpenedAt !== undefined && d.alertOpenedAt < d.at ? { alertOpenedAt: d.alertOpenedAt } : {}),
    ...(d.pagerduty ? { pagerduty: d.pagerduty } : {}),
    requests: [],
    lastStatusAt: d.at,
  };
  const entry: TimelineEntry = {
    at: d.at,
    actor: d.declaredBy,
    kind: 'status',
    text: `Declared ${severityLabel(d.severity)}: ${title}`,
    key: `declared:${d.id}`,
  };
  return { incident, entry };
}

const FINAL = (incident: Incident) =>
  `the incident was resolved at ${utcMinute(incident.resolvedAt ?? incident.lastStatusAt)} UTC, and resolved is final: if it is back, declare a new one`;

/** A note goes into an open incident's timeline; a resolved one's is its postmortem's. */
export function checkNote(incident: Incident): { ok: true } | { ok: false; reason: string } {
  return isOpen(incident) ? { ok: true } : { ok: false, reason: FINAL(incident) };
}

/**
 * A status update. Any open status may follow any other: a fix that did not hold sends
 * `monitoring` back to `investigating`. The same status again is an update too ("still
 * investigating"): that is how a commander answers a nudge. Resolving takes a summary and
 * has its own command; resolved is final, and an incident is never reopened: its metrics
 * and postmortem were written when it was resolved, and a problem that comes back is a new
 * incident, which the postmortem of the first can then name.
 */
export function changeStatus(incident: Incident, to: IncidentStatus, actor: string, at: number): Change {
  if (!isOpen(incident)) return { ok: false, reason: FINAL(incident) };
  if (to === 'resolved')
    return { ok: false, reason: 'resolving takes a summary: incident resolve <summary>' };
  const text =
    to === incident.status ? `Still ${to}` : `${statusLabel(incident.status)} → ${statusLabel(to)}`;
  return {
    ok: true,
    incident: { ...incident, status: to, lastStatusAt: at },
    entry: { at, actor, kind: 'status', text },
  };
}

/** A new severity. It is news for everyone following the incident, so it counts as a status update. */
export function changeSeverity(incident: Incident, to: IncidentSeverity, actor: string, at: number): Change {
  if (!isOpen(incident)) return { ok: false, reason: FINAL(incident) };
  if (to === incident.severity) return { ok: false, reason: `it is ${severityLabel(to)} already` };
  return {
    ok: true,
    incident: { ...incident, severity: to, lastStatusAt: at },
    entry: {
      at,
      actor,
      kind: 'severity',
      text: `${severityLabel(incident.severity)} → ${severityLabel(to)}`,
    },
  };
}

const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;

/**
 * A new commander: one person (a user, not a group: someone must answer for it). The new
 * commander gets a full interval before the first nudge: it counts as a status update.
 */
export function changeCommander(incident: Incident, to: string, actor: string, at: number): Change {
  if (!isOpen(incident)) return { ok: false, reason: FINAL(incident) };
  if (!SLACK_USER.test(to))
    return { ok: false, reason: 'the commander is one person: @someone, not a group' };
  if (to === incident.commander) return { ok: false, reason: `${to} is the commander already` };
  return {
    ok: true,
    incident: { ...incident, commander: to, lastStatusAt: at },
    entry: { at, actor, kind: 'commander', text: `<@${incident.commander}> → <@${to}>` },
  };
}

/** A resolution is a sentence or two in the postmortem's summary, not a report. */
export const RESOLUTION_MAX = 500;
/** A note in the timeline: as long as a timeline entry keeps. */
export const NOTE_MAX = ENTRY_TEXT_MAX;

/** Resolved, with what resolved it: the end of the timeline, the metrics and the postmortem. */
export function resolveIncident(incident: Incident, summary: string, actor: string, at: number): Change {
  if (!isOpen(incident)) return { ok: false, reason: FINAL(incident) };
  const resolution = bounded(oneLine(summary), RESOLUTION_MAX);
  if (!resolution)
    return { ok: false, reason: 'say in a few words what resolved it: incident resolve <summary>' };
  return {
    ok: true,
    incident: {
      ...incident,
      status: 'resolved',
      resolvedAt: at,
      resolution,
      resolvedBy: actor,
      lastStatusAt: at,
    },
    entry: { at, actor, kind: 'status', text: `Resolved: ${resolution}`, key: `resolved:${incident.id}` },
  };
}

/**
 * The incident as an entry leaves it: the first acknowledgement and the first change that
 * succeeded are kept on the incident too, so that the metrics stand even when the timeline
 * has dropped its middle. Entries after it was resolved change nothing.
 */
export function applyEntry(incident: Incident, entry: TimelineEntry): Incident {
  if (!isOpen(incident)) return incident;
  const earlier = (current: number | undefined) => current === undefined || entry.at < current;
  if (entry.kind === 'acknowledge' && earlier(incident.acknowledgedAt)) {
    return { ...incident, acknowledgedAt: entry.at };
  }
  if (entry.kind === 'change-succeeded' && earlier(incident.mitigatedAt)) {
    return { ...incident, mitigatedAt: entry.at };
  }
  return incident;
}

/** Linked alert groups and requests shown in the pinned summary: the first ones, the one declared from among them. */
export const LINKS_MAX = 50;

/** The incident with an alert group or a request linked (once; past LINKS_MAX, not at all). */
export function link(incident: Incident, what: 'alertGroups' | 'requests', id: string): Incident {
  const ids = incident[what];
  if (ids.includes(id) || ids.length >= LINKS_MAX) return incident;
  return { ...incident, [what]: [...ids, id] };
}
