import { formatDuration } from '../../kernel/domain/duration';
import { severityLabel, type Incident } from './incident';
import { metrics } from './metrics';
import {
  TIMELINE_CAP,
  TIMELINE_HEAD,
  TIMELINE_LABELS,
  type Timeline,
  type TimelineEntry,
  type TimelineKind,
} from './timeline';
import { oneLine, utcMinute } from './text';

/** What the postmortem links to and whom it names; each is optional, and without it the text stands alone. */
export interface PostmortemLinks {
  /** The incident channel. */
  channel?: string;
  alertGroup?: (id: string) => string | undefined;
  request?: (id: string) => string | undefined;
  /** Display names for Slack user ids: the file is read outside Slack, where an id means nothing. */
  people?: Readonly<Record<string, string>>;
}

/** What was done to the platform, as opposed to what was seen or said. */
const ACTIONS: ReadonlySet<TimelineKind> = new Set([
  'request',
  'approval',
  'change-succeeded',
  'change-failed',
  'silence',
]);

/**
 * Outside text inline in Markdown: one line (a line break would end a table row or a list
 * item), and `\`, `|` and `<` escaped, so that it cannot end a table cell, open HTML (an
 * unclosed comment hides the rest of the file) or escape the character after it.
 * Emphasis, code and links stay: people write them in notes, and they stay in their line.
 */
const md = (text: string): string => oneLine(text).replace(/[\\|<]/g, (c) => `\\${c}`);

/** Only http(s), and percent-encoded where a character would end the link or the cell. */
function safeUrl(url: string | undefined): string | undefined {
  if (url === undefined || !/^https?:\/\/\S+$/i.test(url)) return undefined;
  return url.replace(/[()[\]|<>\\`]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const linked = (text: string, url: string | undefined): string => {
  const href = safeUrl(url);
  return href ? `[${md(text).replace(/[[\]]/g, (c) => `\\${c}`)}](${href})` : md(text);
};

const took = (ms: number): string => (ms < 1_000 ? '0s' : formatDuration(ms));

/**
 * The postmortem draft, in Markdown, posted as a file when the incident is resolved and
 * kept in the audit stream: summary, impact (with the metrics), the timeline in UTC, the
 * actions with their links, and follow-ups left for people to fill. Nothing is escaped for
 * Slack (it is a file), but every title, note and name is one line and cannot break the
 * tables and lists it sits in.
 */
export function postmortemMarkdown(
  incident: Incident,
  timeline: Timeline,
  links: PostmortemLinks = {},
): string {
  const people = links.people ?? {};
  const who = (id: string) => people[id] ?? id;
  /** User ids in text (a commander change, an approval) by name, where the name is known. */
  const named = (text: string) =>
    text
      .replace(/<@([UW][A-Z0-9]{2,})>/g, (_, id: string) => `@${people[id] ?? id}`)
      .replace(/\b[UW][A-Z0-9]{2,}\b/g, (id) => people[id] ?? id);
  const m = metrics(incident, timeline);
  const list = (items: string[], none: string) => (items.length > 0 ? items.join(', ') : none);
  const what = (e: TimelineEntry) =>
    `${TIMELINE_LABELS[e.kind]}: ${md(named(e.text))}${safeUrl(e.link) ? ` ([link](${safeUrl(e.link)}))` : ''}`;

  const lines = [
    `# Postmortem: ${md(incident.title).replace(/#/g, '\\#')}`,
    '',
    '_A draft written by azora-chatops from the incident’s timeline: check it, and complete the impact and the follow-ups._',
    '',
    '## Summary',
    '',
    `- **Severity:** ${severityLabel(incident.severity)}`,
    `- **Declared:** ${utcMinute(incident.declaredAt)} UTC by ${md(who(incident.declaredBy))}`,
    `- **Resolved:** ${incident.resolvedAt !== undefined ? `${utcMinute(incident.resolvedAt)} UTC` : `not yet (${incident.status})`}`,
    `- **Commander:** ${md(who(incident.commander))}`,
    `- **Channel:** ${linked(`#${incident.channelName}`, links.channel)}`,
    `- **PagerDuty:** ${incident.pagerduty ? linked(incident.pagerduty.id, incident.pagerduty.url) : 'none'}`,
    `- **Alert groups:** ${list(
      incident.alertGroups.map((id) => linked(id, links.alertGroup?.(id))),
      'none',
    )}`,
    `- **Requests:** ${list(
      incident.requests.map((id) => linked(id, links.request?.(id))),
      'none',
    )}`,
    `- **Resolution:** ${incident.resolution ? md(incident.resolution) : ''}`,
    '',
    '## Impact',
    '',
    `- **Environment:** ${incident.environment ?? 'not named'}`,
    `- **Services:** ${list(incident.services.map(md), 'none named')}`,
    `- **Started:** ${utcMinute(m.startedAt)} UTC (${m.startedAt < incident.declaredAt ? 'the first alert' : 'declared'})`,
    `- **Time to acknowledge:** ${took(m.toAcknowledge)}`,
    `- **Time to mitigate:** ${m.toMitigate !== undefined ? took(m.toMitigate) : 'no change succeeded through the bot'}`,
    `- **Time to resolve:** ${m.toResolve !== undefined ? took(m.toResolve) : 'not resolved'}`,
    '- **Who was affected, and how:**',
    '',
    '## Timeline',
    '',
    'All times UTC.',
    '',
    '| Time | Who | What |',
    '| --- | --- | --- |',
  ];
  timeline.entries.forEach((e, i) => {
    if (i === TIMELINE_HEAD && timeline.omitted > 0) {
      lines.push(
        `| … | | _${timeline.omitted} entries here are not kept: a timeline keeps its first ${TIMELINE_HEAD} and its newest ${TIMELINE_CAP - TIMELINE_HEAD}_ |`,
      );
    }
    lines.push(`| ${utcMinute(e.at)} | ${md(who(e.actor))} | ${what(e)} |`);
  });

  const actions = timeline.entries.filter((e) => ACTIONS.has(e.kind));
  lines.push('', '## Actions', '');
  if (actions.length === 0) lines.push('_No action went through the bot._');
  for (const e of actions) lines.push(`- ${utcMinute(e.at)} UTC, ${md(who(e.actor))}: ${what(e)}`);

  lines.push('', '## Follow-ups', '', '| Follow-up | Owner | Due |', '| --- | --- | --- |', '| | | |', '');
  return lines.join('\n');
}
