import type { Button, KnownBlock } from '@slack/types';
import type { RunbookAction } from '../config/policy';
import { actionId, type ActionKind } from '../kernel/slack/actions';
import { firingCount, type AlertChange, type AlertGroup, type DigestView } from './domain/group';
import {
  bold,
  clip,
  context,
  md,
  mention,
  message,
  note,
  render,
  section,
  sections,
  slackDate,
  link,
  Mrkdwn,
  type SlackMessage,
} from '../kernel/slack/blocks';

const RUNBOOK_LABEL: Record<RunbookAction, string> = {
  rollback: 'Roll back',
  'switch-back': 'Switch back',
  'scale-up': 'Scale up',
  logs: 'Logs',
};

export interface AlertButtons {
  acknowledge: boolean;
  /** Offer Silence 1h: Alertmanager is there, the group has labels to match, and no silence holds now. */
  silence: boolean;
  /** Whether the group's recorded silence still holds. */
  silenced: boolean;
  runbooks: RunbookAction[];
  /** The runbook URL when it may be a link button (https, an allowed host); otherwise shown as text. */
  runbookLink?: string;
  /** Declare incident: on the groups that page (critical). */
  declare?: boolean;
  /** Graph: draws the alert's graph again (with Prometheus). */
  graph?: boolean;
}

export function alertTitle(group: AlertGroup): Mrkdwn {
  const where = [group.service, group.environment].filter(Boolean).join(' in ');
  const state =
    group.status === 'firing' ? `:red_circle: FIRING:${firingCount(group)}` : ':large_green_circle: RESOLVED';
  return md`${state} ${bold(group.alertname)}${where ? ` — ${where}` : ''}`;
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
  const resolved =
    group.status === 'resolved' && group.resolvedAt ? md` · *Resolved* ${slackDate(group.resolvedAt)}` : '';
  const lines: Mrkdwn[] = [
    alertTitle(group),
    md`${group.summary}`,
    md`*Severity* ${group.severity} · *Firing* ${firingCount(group)} of ${Object.keys(group.alerts).length}${group.truncated ? md` (${group.truncated} more left out of the notification)` : ''} · *Since* ${since}${resolved}`,
  ];
  const notes: Mrkdwn[] = [];
  if (group.acknowledgedBy) notes.push(md`:eyes: acknowledged by ${mention(group.acknowledgedBy)}`);
  if (group.silence && buttons.silenced)
    notes.push(md`:mute: silenced by ${mention(group.silence.by)} until ${group.silence.endsAt}`);
  if (group.maintenance) notes.push(md`:construction: during maintenance: ${group.maintenance}`);
  if (group.runbookUrl && !buttons.runbookLink)
    notes.push(
      md`:book: runbook (not a link: only https runbooks on allowed hosts are): ${group.runbookUrl}`,
    );
  // A 10,000-character summary takes a section of its own, and the severity line still shows.
  const blocks: KnownBlock[] = sections(lines);
  if (notes.length > 0) blocks.push(context(...notes));
  if (group.status === 'firing') {
    const elements: Button[] = [
      ...(buttons.acknowledge ? [button('ack', group.id, 'Acknowledge')] : []),
      ...(buttons.silence && !buttons.silenced ? [button('silence', group.id, 'Silence 1h')] : []),
      ...buttons.runbooks.map((action) =>
        button(
          `runbook-${action}`,
          group.id,
          RUNBOOK_LABEL[action],
          action === 'logs' ? undefined : 'danger',
        ),
      ),
    ];
    if (buttons.graph && !group.digest) elements.push(button('graph', group.id, 'Graph'));
    if (buttons.declare) elements.push(button('declare-incident', group.id, 'Declare incident', 'danger'));
    if (buttons.runbookLink) {
      elements.push({
        type: 'button',
        action_id: actionId('runbook-link', group.id),
        text: { type: 'plain_text', text: 'Runbook' },
        url: buttons.runbookLink,
      });
    }
    if (elements.length > 0) blocks.push({ type: 'actions', block_id: `alert-${group.id}`, elements });
  } else if (buttons.runbookLink) {
    blocks.push(context(link(buttons.runbookLink, 'Runbook')));
  }
  return message(md`${alertTitle(group)}: ${group.summary}`, blocks);
}

/** The thread reply that says what a notification changed. */
export function alertChangeReply(group: AlertGroup, change: AlertChange): SlackMessage | undefined {
  const names = (fps: string[]) =>
    fps
      .map((fp) => group.alerts[fp])
      .map((a) => a?.labels.pod ?? a?.labels.instance ?? a?.labels.alertname ?? '?')
      .slice(0, 10)
      .join(', ');
  let text: Mrkdwn | string;
  switch (change.kind) {
    case 'firing':
      text = md`:red_circle: ${change.fingerprints.length} more firing: ${names(change.fingerprints)}`;
      break;
    case 'alerts-resolved':
      text = md`:large_green_circle: ${change.fingerprints.length} resolved: ${names(change.fingerprints)}; ${firingCount(group)} still firing`;
      break;
    case 'resolved':
      text = ':large_green_circle: All alerts of this group resolved.';
      break;
    case 'reopened':
      text = `:red_circle: Firing again (episode ${change.episode}) after being resolved.`;
      break;
    case 'escalated':
      text = md`:arrow_up: Now ${bold(change.to)} (was ${change.from}).`;
      break;
    case 'opened':
      return undefined;
  }
  return note(text);
}

/**
 * One line of a storm digest, as markup (it is stored, then shown as it is), cut to a
 * line's worth: a digest lists forty, and Slack refuses a message whose blocks hold more
 * than about 12,000 characters in all.
 */
export function digestLine(group: AlertGroup): string {
  return clip(render(md`${alertTitle(group)}: ${group.summary}`), DIGEST_LINE_MAX);
}

export const DIGEST_LINE_MAX = 240;

/** How many groups a storm digest lists; the rest are counted. */
export const DIGEST_LINES = 40;

/** In a storm, one message lists the channel's new groups and is kept current. */
export function digestMessage({ total, firing, lines }: DigestView): SlackMessage {
  const head = `:rotating_light: *Alert storm*: ${total} groups in this channel (${firing} firing); one digest instead of a thread each.`;
  const more = total > lines.length ? `…and ${total - lines.length} more` : '';
  // The lines are markup made by digestLine, as many sections as they fill, so none is cut
  // off unseen; the count of the rest is a block of its own. Lines whose groups expired
  // from Redis are gone: a digest with none left says so (Slack refuses an empty section).
  const shown = lines.length > 0 ? lines : ['_no group of this storm is stored any more_'];
  return message(Mrkdwn.trusted([head, ...shown, more].filter(Boolean).join('\n')), [
    section(head),
    ...sections(shown.map((line) => Mrkdwn.trusted(line))),
    ...(more ? [context(more)] : []),
  ]);
}

/** Said in the thread when someone silences the group; Expire lifts the silence early. */
export function silenceReply(group: AlertGroup, user: string, endsAt: string): SlackMessage {
  const text = md`:mute: ${mention(user)} silenced this group in Alertmanager until ${endsAt}.`;
  return {
    text: render(text),
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

export const noteReply = note;
