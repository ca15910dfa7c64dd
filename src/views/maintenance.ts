import { formatDuration } from '../domain/duration';
import type { MaintenanceWindow } from '../domain/maintenance/window';
import { escapeText, section, type SlackMessage } from './blocks';

/** Slack shows this in each reader's own time zone; the fallback is UTC. */
export const slackTime = (ms: number): string =>
  `<!date^${Math.floor(ms / 1000)}^{date_long_pretty} {time}|${new Date(ms).toISOString().replace('.000Z', 'Z')}>`;

const describe = (w: MaintenanceWindow) =>
  `*${w.environment}* from ${slackTime(w.start)} to ${slackTime(w.end)} (${formatDuration(w.end - w.start)}): ${escapeText(w.reason)} · \`${w.id}\``;

const message = (text: string): SlackMessage => ({ text, blocks: [section(text)] });

export function noticeMessage(window: MaintenanceWindow, notice: string): SlackMessage {
  if (notice === 'start')
    return message(
      `:construction: *Maintenance started* — ${describe(window)}. Alerts of ${window.environment} are silenced until it ends.`,
    );
  if (notice === 'end') return message(`:white_check_mark: *Maintenance over* — ${describe(window)}.`);
  if (notice === 'scheduled')
    return message(`:calendar: *Maintenance scheduled* by <@${window.requester}> — ${describe(window)}.`);
  if (notice === 'moved') return message(`:calendar: *Maintenance moved* — now ${describe(window)}.`);
  if (notice === 'cancelled') return message(`:x: *Maintenance cancelled* — ${describe(window)}.`);
  const lead = Number(notice.replace('before-', ''));
  return message(`:loudspeaker: *Maintenance in ${formatDuration(lead)}* — ${describe(window)}.`);
}

export function windowListMessage(windows: MaintenanceWindow[]): SlackMessage {
  if (windows.length === 0) return message('No maintenance window is scheduled.');
  return message(
    `*Maintenance windows*\n${windows.map((w) => `• ${describe(w)}${w.status === 'active' ? ' — *running now*' : ''}`).join('\n')}`,
  );
}
