import type { EnvironmentName } from '../../kernel/domain/environment';
import { isOpen, type Incident } from './incident';
import { bounded } from '../../kernel/domain/text';

export const TIMELINE_KINDS = [
  'alert-opened',
  'alert-resolved',
  'request',
  'approval',
  'change-succeeded',
  'change-failed',
  'silence',
  'acknowledge',
  'status',
  'severity',
  'commander',
  'note',
  'pin',
] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

/** What each kind of entry is called where people read the timeline. */
export const TIMELINE_LABELS: Record<TimelineKind, string> = {
  'alert-opened': 'Alert opened',
  'alert-resolved': 'Alert resolved',
  request: 'Request',
  approval: 'Approval',
  'change-succeeded': 'Change succeeded',
  'change-failed': 'Change failed',
  silence: 'Silence',
  acknowledge: 'Acknowledged',
  status: 'Status',
  severity: 'Severity',
  commander: 'Commander',
  note: 'Note',
  pin: 'Pinned',
};

/** One thing that happened during an incident, by the bot or by a person. */
export interface TimelineEntry {
  at: number;
  /** A Slack user id, or what else acted: `alertmanager`, `pagerduty`, `azora`. */
  actor: string;
  kind: TimelineKind;
  /** As said, not escaped: each view escapes for where it shows it. */
  text: string;
  /** Where to read more: the alert thread, the request, the pinned message. */
  link?: string;
  /**
   * The event's identity, when it has one (a request id and its step, a pinned message's
   * ts): a delivery retried, or a message pinned by two people, is one entry.
   */
  key?: string;
}

/** The entries, by time, and how many were dropped between the first and the newest. */
export interface Timeline {
  entries: TimelineEntry[];
  omitted: number;
}

/**
 * A timeline is kept whole up to TIMELINE_CAP entries; past it, the first TIMELINE_HEAD are
 * kept with the newest, and the middle goes. The first ones say how it started and hold the
 * first acknowledgement and the first change that worked (the metrics); the newest are what
 * the channel is working on. A sev1 with a flapping alert can write thousands; the middle
 * of those is what a postmortem reader misses least.
 */
export const TIMELINE_CAP = 500;
export const TIMELINE_HEAD = 50;
/** A note is a few sentences; a pasted log belongs in a file. */
export const ENTRY_TEXT_MAX = 1_000;

export const emptyTimeline = (): Timeline => ({ entries: [], omitted: 0 });

/**
 * The timeline with `entry` in its place by time (after those at the same time: events
 * arrive from several processes, and a pin can be of an older message). An entry whose
 * key is already there changes nothing. Past the cap, the oldest entry after the head
 * goes, which may be this one.
 */
export function appendEntry(timeline: Timeline, entry: TimelineEntry): Timeline {
  if (entry.key !== undefined && timeline.entries.some((e) => e.key === entry.key)) return timeline;
  const kept = { ...entry, text: bounded(entry.text, ENTRY_TEXT_MAX) };
  const entries = [...timeline.entries];
  let index = entries.length;
  while (index > 0 && entries[index - 1]!.at > kept.at) index--;
  entries.splice(index, 0, kept);
  if (entries.length <= TIMELINE_CAP) return { entries, omitted: timeline.omitted };
  const dropped = entries.splice(TIMELINE_HEAD, entries.length - TIMELINE_CAP);
  return { entries, omitted: timeline.omitted + dropped.length };
}

/** What a bot event is about, as far as incidents care. */
export interface EventScope {
  environment?: EnvironmentName;
  service?: string;
  alertGroup?: string;
  request?: string;
}

/**
 * Whether a bot event goes in this incident's timeline: only while it is open; always when
 * it is about a linked alert group or request; otherwise when it is in the incident's
 * environment and about one of its services (any, when it names none), or about no service
 * in particular (a maintenance window, a silence of the whole environment). An incident
 * naming services but no environment takes their events in any environment, and none
 * about no service. One naming neither takes only what is linked to it: every event of
 * the platform would bury what matters.
 */
export function concerns(incident: Incident, event: EventScope): boolean {
  if (!isOpen(incident)) return false;
  if (event.alertGroup !== undefined && incident.alertGroups.includes(event.alertGroup)) return true;
  if (event.request !== undefined && incident.requests.includes(event.request)) return true;
  if (incident.environment === undefined && incident.services.length === 0) return false;
  if (incident.environment !== undefined && event.environment !== incident.environment) return false;
  if (event.service === undefined) return incident.environment !== undefined;
  return incident.services.length === 0 || incident.services.includes(event.service);
}
