import {
  isOpen,
  severityLabel,
  statusLabel,
  type Incident,
  type IncidentSeverity,
  type IncidentStatus,
} from './incident';
import { oneLine } from './text';

/**
 * One value of a summary field, as data: the view escapes text, mentions users and formats
 * times for the reader's time zone. Nothing here is Slack markup.
 */
export type SummaryValue = { text: string; url?: string } | { user: string } | { at: number };

export interface SummaryField {
  label: string;
  /** Empty: the view says "none". */
  values: SummaryValue[];
}

export interface IncidentSummary {
  title: string;
  severity: IncidentSeverity;
  status: IncidentStatus;
  fields: SummaryField[];
}

/**
 * What the pinned message shows, kept current: status, severity, commander, who declared
 * it and when, what it is about, and what is linked to it (alert groups, the PagerDuty
 * incident, requests), with the resolution once resolved.
 */
export function summaryText(incident: Incident): IncidentSummary {
  const fields: SummaryField[] = [
    { label: 'Status', values: [{ text: statusLabel(incident.status) }] },
    { label: 'Severity', values: [{ text: severityLabel(incident.severity) }] },
    { label: 'Commander', values: [{ user: incident.commander }] },
    { label: 'Declared', values: [{ user: incident.declaredBy }, { at: incident.declaredAt }] },
    { label: 'Environment', values: incident.environment ? [{ text: incident.environment }] : [] },
    { label: 'Services', values: incident.services.map((text) => ({ text })) },
    { label: 'Alert groups', values: incident.alertGroups.map((text) => ({ text })) },
    {
      label: 'PagerDuty',
      values: incident.pagerduty
        ? [
            {
              text: incident.pagerduty.id,
              ...(incident.pagerduty.url ? { url: incident.pagerduty.url } : {}),
            },
          ]
        : [],
    },
    { label: 'Requests', values: incident.requests.map((text) => ({ text })) },
  ];
  if (!isOpen(incident)) {
    fields.push({
      label: 'Resolved',
      values: incident.resolvedAt !== undefined ? [{ at: incident.resolvedAt }] : [],
    });
    fields.push({ label: 'Resolution', values: incident.resolution ? [{ text: incident.resolution }] : [] });
  }
  return { title: incident.title, severity: incident.severity, status: incident.status, fields };
}

/** Slack's limit for a channel topic. */
export const TOPIC_MAX = 250;

/** Slack's three control characters; a topic is sent as is, so the title must not make markup. */
const SLACK_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * `SEV1 · Investigating · Commander <@U…> · Payment errors`: what someone joining the
 * channel needs first, then the title, cut (with …) so that the whole is within Slack's
 * 250 characters, escaped, and never cut inside an escape or a surrogate pair.
 */
export function topicText(incident: Incident): string {
  const head = `${severityLabel(incident.severity)} · ${statusLabel(incident.status)} · Commander <@${incident.commander}> · `;
  const budget = TOPIC_MAX - head.length;
  const title = [...oneLine(incident.title)].map((c) => SLACK_ESCAPES[c] ?? c);
  let text = title.join('');
  if (text.length > budget) {
    text = '';
    for (const piece of title) {
      if (text.length + piece.length > budget - 1) break;
      text += piece;
    }
    text = `${text.trimEnd()}…`;
  }
  return `${head}${text}`;
}
