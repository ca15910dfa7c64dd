import type { KnownBlock } from '@slack/types';
import { formatDuration } from '../kernel/domain/duration';
import {
  bold,
  channelRef,
  code,
  context,
  joinText,
  link,
  md,
  mention,
  message,
  note,
  section,
  sections,
  slackDate,
  type Mrkdwn,
  type SlackMessage,
  withUserMentions,
} from '../kernel/slack/blocks';
import { isOpen, severityLabel, statusLabel, type Incident } from './domain/incident';
import type { IncidentMetrics } from './domain/metrics';
import { summaryText, type SummaryValue } from './domain/summary';
import { TIMELINE_LABELS, type Timeline, type TimelineEntry } from './domain/timeline';
import { bounded } from '../kernel/domain/text';
import { utcMinute } from './domain/text';

function value(v: SummaryValue): Mrkdwn | string {
  if ('user' in v) return mention(v.user);
  if ('at' in v) return slackDate(v.at);
  return v.url && /^https:\/\//.test(v.url) ? link(v.url, v.text) : v.text;
}

/** The pinned summary, kept current: every field the domain says, values escaped. */
export function summaryMessage(incident: Incident): SlackMessage {
  const summary = summaryText(incident);
  const icon = isOpen(incident) ? ':rotating_light:' : ':white_check_mark:';
  const head = md`${icon} *${severityLabel(summary.severity)} · ${statusLabel(summary.status)}* — ${summary.title}`;
  const lines = summary.fields
    .filter((f) => f.values.length > 0)
    .map((f) => md`*${f.label}*: ${joinText(f.values.map(value), ', ')}`);
  const blocks: KnownBlock[] = [
    section(head),
    section(joinText(lines, '\n')),
    context(
      md`Incident ${code(incident.id)} · \`/azora incident note|status|commander|severity|resolve\` here`,
    ),
  ];
  return message(head, blocks);
}

/** A line in the incident channel for a change people should see. */
export const incidentLine = (text: Mrkdwn): SlackMessage => note(text);

export function declaredAnswer(incident: Incident): SlackMessage {
  return note(
    md`:rotating_light: ${severityLabel(incident.severity)} declared: ${incident.title} — ${channelRef(incident.channel)}`,
  );
}

export function resolvedLine(incident: Incident, m: IncidentMetrics): Mrkdwn {
  const mitigated = m.toMitigate !== undefined ? formatDuration(m.toMitigate) : 'no change recorded';
  return md`:white_check_mark: *Resolved* by ${mention(incident.resolvedBy ?? incident.commander)}: ${incident.resolution ?? ''}\nTime to acknowledge ${formatDuration(m.toAcknowledge)} · to mitigate ${mitigated} · to resolve ${formatDuration(m.toResolve ?? 0)}. The postmortem draft is attached.`;
}

/** `/azora incident list`: the open ones first, then the recent. */
export function incidentListMessage(incidents: Incident[]): SlackMessage {
  if (incidents.length === 0) return note('No incident has been declared.');
  const line = (i: Incident) =>
    md`${isOpen(i) ? ':rotating_light:' : ':white_check_mark:'} ${severityLabel(i.severity)} · ${statusLabel(i.status)} — ${i.title} — ${channelRef(i.channel)} · declared ${slackDate(i.declaredAt)} by ${mention(i.declaredBy)}`;
  const open = incidents.filter(isOpen).map(line);
  const closed = incidents.filter((i) => !isOpen(i)).map(line);
  return message(`${open.length} open incident${open.length === 1 ? '' : 's'}`, [
    ...sections([bold('Open'), ...(open.length ? open : ['none'])]),
    ...(closed.length ? sections([bold('Recent'), ...closed.slice(0, 10)]) : []),
  ]);
}

/** The newest entries `/azora incident timeline` shows; the postmortem has them all. */
export const TIMELINE_SHOWN = 30;
/** Entries per section, each said in at most ENTRY_SHOWN characters: a section stays under Slack's 3,000. */
const LINES_PER_SECTION = 8;
const ENTRY_SHOWN = 280;

const actor = (who: string): Mrkdwn | string => (/^[UW][A-Z0-9]{2,}$/.test(who) ? mention(who) : who);

/**
 * An entry's words, escaped: only a commander change, which the bot writes from two user
 * ids, shows its people as mentions. Any other entry's `<@U…>` came from outside (an
 * alert's summary, a pinned message quoting one) and stays text, so it pings nobody.
 */
export const shownText = (e: TimelineEntry): Mrkdwn | string =>
  e.kind === 'commander' ? withUserMentions(bounded(e.text, ENTRY_SHOWN)) : bounded(e.text, ENTRY_SHOWN);

function entryLine(e: TimelineEntry): Mrkdwn {
  const more = e.link && /^https:\/\//.test(e.link) ? md` (${link(e.link, 'link')})` : '';
  return md`\`${utcMinute(e.at).slice(11)}\` ${actor(e.actor)} · *${TIMELINE_LABELS[e.kind]}*: ${shownText(e)}${more}`;
}

/** `/azora incident timeline`: the newest entries, for whoever joins late; times in UTC. */
export function timelineMessage(incident: Incident, timeline: Timeline): SlackMessage {
  const shown = timeline.entries.slice(-TIMELINE_SHOWN);
  const earlier = timeline.entries.length - shown.length + timeline.omitted;
  const head = md`:spiral_note_pad: *Timeline* of ${incident.title} (${severityLabel(incident.severity)} · ${statusLabel(incident.status)}), times UTC, from ${utcMinute(shown[0]?.at ?? incident.declaredAt)}`;
  const sections: KnownBlock[] = [];
  for (let i = 0; i < shown.length; i += LINES_PER_SECTION)
    sections.push(section(joinText(shown.slice(i, i + LINES_PER_SECTION).map(entryLine), '\n')));
  return message(head, [
    section(head),
    ...sections,
    ...(earlier > 0
      ? [
          context(
            md`${earlier} earlier entries are in the postmortem draft that \`/azora incident resolve\` attaches.`,
          ),
        ]
      : []),
  ]);
}
