import { formatDuration } from '../kernel/domain/duration';
import { bounded } from '../kernel/domain/text';
import type { MaintenanceWindow } from './domain/window';
import {
  bold,
  code,
  joinText,
  md,
  mention,
  note as message,
  render,
  sections,
  slackDate,
  type Mrkdwn,
  type SlackMessage,
} from '../kernel/slack/blocks';

/** Slack shows this in each reader's own time zone; the fallback is UTC. */
export const slackTime = (ms: number): Mrkdwn => slackDate(ms, '{date_long_pretty} {time}');

const describe = (w: MaintenanceWindow, reasonMax = Infinity) =>
  md`*${w.environment}* from ${slackTime(w.start)} to ${slackTime(w.end)} (${formatDuration(w.end - w.start)}): ${bounded(w.reason, reasonMax)} · ${code(w.id)}`;

/** A reason in the list is a line's worth: its announcements say it whole, and forty windows fit one message. */
const LISTED_REASON_MAX = 120;

export function noticeMessage(window: MaintenanceWindow, notice: string): SlackMessage {
  if (notice === 'start')
    return message(
      md`:construction: *Maintenance started* — ${describe(window)}. Alerts of ${window.environment} are silenced until it ends.`,
    );
  if (notice === 'end') return message(md`:white_check_mark: *Maintenance over* — ${describe(window)}.`);
  if (notice === 'scheduled')
    return message(
      md`:calendar: *Maintenance scheduled* by ${mention(window.requester)} — ${describe(window)}.`,
    );
  if (notice === 'moved') return message(md`:calendar: *Maintenance moved* — now ${describe(window)}.`);
  if (notice === 'cancelled') return message(md`:x: *Maintenance cancelled* — ${describe(window)}.`);
  const lead = Number(notice.replace('before-', ''));
  return message(md`:loudspeaker: *Maintenance in ${formatDuration(lead)}* — ${describe(window)}.`);
}

export function windowListMessage(windows: MaintenanceWindow[]): SlackMessage {
  if (windows.length === 0) return message('No maintenance window is scheduled.');
  const lines = windows.map(
    (w) => md`• ${describe(w, LISTED_REASON_MAX)}${w.status === 'active' ? ' — *running now*' : ''}`,
  );
  const head = bold('Maintenance windows');
  return { text: render(md`${head}\n${joinText(lines, '\n')}`), blocks: sections([head, ...lines]) };
}
