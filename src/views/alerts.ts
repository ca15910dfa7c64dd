import type { Button, KnownBlock } from '@slack/types';
import type { RunbookAction } from '../config/policy';
import { actionId, type ActionKind } from '../domain/actions';
import { firingCount, type AlertChange, type AlertGroup, type DigestView } from '../domain/alerts/group';
import { context, escapeText, section, type SlackMessage } from './blocks';

const slackDate = (ms: number) =>
  `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${new Date(ms).toISOString()}>`;

const RUNBOOK_LABEL: Record<RunbookAction, string> = {
  rollback: 'Roll back',
  'switch-back': 'Switch back',
  'scale-up': 'Scale up',
  logs: 'Logs',
};

export interface AlertButtons {
  acknowledge: boolean;
  silence: boolean;
  runbooks: RunbookAction[];
}

export function alertTitle(group: AlertGroup): string {
  const where = [group.service, group.environment].filter(Boolean).join(' in ');
  const state =
    group.status === 'firing' ? `:red_circle: FIRING:${firingCount(group)}` : ':large_green_circle: RESOLVED';
  return `${state} *${escapeText(group.alertname)}*${where ? ` — ${where}` : ''}`;
}

const button = (kind: ActionKind, subject: string, text: string, style?: 'primary' | 'danger'): Button => ({
  type: 'button',
  action_id: actionId(kind, subject),
  text: { type: 'plain_text', text },
  value: subject,
  ...(style ? { style } : {}),
});

/** The parent message of an alert group's thread, edited as the group changes. */
export function alertParentMessage(group: AlertGroup, buttons: AlertButtons): SlackMessage {
  const since = slackDate(group.openedAt);
  const lines = [
    alertTitle(group),
    escapeText(group.summary),
    `*Severity* ${group.severity} · *Firing* ${firingCount(group)} of ${Object.keys(group.alerts).length} · *Since* ${since}` +
      (group.status === 'resolved' && group.resolvedAt ? ` · *Resolved* ${slackDate(group.resolvedAt)}` : ''),
  ];
  const notes: string[] = [];
  if (group.acknowledgedBy) notes.push(`:eyes: acknowledged by <@${group.acknowledgedBy}>`);
  if (group.silence) notes.push(`:mute: silenced by <@${group.silence.by}> until ${group.silence.endsAt}`);
  if (group.maintenance) notes.push(`:construction: during maintenance: ${escapeText(group.maintenance)}`);
  const blocks: KnownBlock[] = [section(lines.join('\n'))];
  if (notes.length > 0) blocks.push(context(...notes));
  if (group.status === 'firing') {
    const elements: Button[] = [
      ...(buttons.acknowledge ? [button('ack', group.id, 'Acknowledge')] : []),
      ...(buttons.silence && !group.silence ? [button('silence', group.id, 'Silence 1h')] : []),
      ...buttons.runbooks.map((action) =>
        button(
          `runbook-${action}`,
          group.id,
          RUNBOOK_LABEL[action],
          action === 'logs' ? undefined : 'danger',
        ),
      ),
    ];
    if (group.runbookUrl) {
      elements.push({
        type: 'button',
        action_id: actionId('runbook-link', group.id),
        text: { type: 'plain_text', text: 'Runbook' },
        url: group.runbookUrl,
      });
    }
    if (elements.length > 0) blocks.push({ type: 'actions', block_id: `alert-${group.id}`, elements });
  } else if (group.runbookUrl) {
    blocks.push(context(`<${group.runbookUrl}|Runbook>`));
  }
  return { text: `${alertTitle(group)}: ${group.summary}`, blocks };
}

/** The thread reply that says what a notification changed. */
export function alertChangeReply(group: AlertGroup, change: AlertChange): SlackMessage | undefined {
  const names = (fps: string[]) =>
    fps
      .map((fp) => group.alerts[fp])
      .map((a) => a?.labels.pod ?? a?.labels.instance ?? a?.labels.alertname ?? '?')
      .slice(0, 10)
      .join(', ');
  let text: string | undefined;
  switch (change.kind) {
    case 'firing':
      text = `:red_circle: ${change.fingerprints.length} more firing: ${names(change.fingerprints)}`;
      break;
    case 'alerts-resolved':
      text = `:large_green_circle: ${change.fingerprints.length} resolved: ${names(change.fingerprints)}; ${firingCount(group)} still firing`;
      break;
    case 'resolved':
      text = ':large_green_circle: All alerts of this group resolved.';
      break;
    case 'reopened':
      text = `:red_circle: Firing again (episode ${change.episode}) after being resolved.`;
      break;
    case 'opened':
      return undefined;
  }
  return { text, blocks: [section(text)] };
}

/** One line of a storm digest. */
export function digestLine(group: AlertGroup): string {
  return `${alertTitle(group)}: ${escapeText(group.summary)}`;
}

/** How many groups a storm digest lists; the rest are counted. */
export const DIGEST_LINES = 40;

/** In a storm, one message lists the channel's new groups and is kept current. */
export function digestMessage({ total, firing, lines }: DigestView): SlackMessage {
  const head = `:rotating_light: *Alert storm*: ${total} groups in this channel (${firing} firing); one digest instead of a thread each.`;
  const more = total > lines.length ? `\n…and ${total - lines.length} more` : '';
  return {
    text: `${head}\n${lines.join('\n')}${more}`,
    blocks: [section(head), section(`${lines.join('\n')}${more}`.slice(0, 2_900))],
  };
}

/** Said in the thread when someone silences the group; Expire lifts the silence early. */
export function silenceReply(group: AlertGroup, user: string, endsAt: string): SlackMessage {
  const text = `:mute: <@${user}> silenced this group in Alertmanager until ${endsAt}.`;
  return {
    text,
    blocks: [
      section(text),
      {
        type: 'actions',
        block_id: `silence-${group.id}`,
        elements: [button('unsilence', group.id, 'Expire silence')],
      },
    ],
  };
}

export const noteReply = (text: string): SlackMessage => ({ text, blocks: [section(text)] });
