import type { KnownBlock } from '@slack/types';
import type { Colour, EnvironmentName } from '../kernel/domain/environment';
import { formatDuration } from '../kernel/domain/duration';
import type { ReleaseRecord } from '../kernel/domain/release';
import { actionId } from '../kernel/slack/actions';
import type { Baking } from './store';
import {
  clip,
  code,
  context,
  md,
  mention,
  message,
  Mrkdwn,
  note,
  render,
  section,
  sections,
  slackDate,
  type SlackMessage,
} from '../kernel/slack/blocks';

/** What a service runs now, for the head of its history. */
export interface ServiceNow {
  service: string;
  /** Blue/green: the live colour, and each colour's version. */
  live?: Colour;
  versions: Partial<Record<Colour | 'current', string>>;
  history: ReleaseRecord[];
}

const ACTION: Record<ReleaseRecord['action'], string> = {
  deploy: 'deploy',
  switch: 'switch',
  rollback: 'rollback',
  'switch-back': 'switch back',
  'auto-switch-back': 'automatic switch back',
};

function recordLine(r: ReleaseRecord): Mrkdwn {
  const result = r.result === 'succeeded' ? ':large_green_circle:' : ':red_circle:';
  const where = r.colour ? md` → *${r.colour}*` : '';
  const who = r.requester === 'bot' ? 'the bot' : mention(r.requester);
  const approved = r.approver ? md`, approved by ${mention(r.approver)}` : '';
  const took = r.end !== undefined ? ` · ${formatDuration(Math.max(0, r.end - r.start))}` : '';
  const before = r.previous
    ? md` (was ${code(r.previous.version)}${r.previous.colour ? ` on ${r.previous.colour}` : ''})`
    : '';
  const detail = r.detail ? md`\n      ${r.detail}` : '';
  return md`${result} ${slackDate(r.start)} ${ACTION[r.action]} ${code(r.version)}${where}${before} by ${who}${approved}${took} · ${code(r.id)}${detail}`;
}

function headLine(now: ServiceNow): Mrkdwn {
  if (now.live) {
    const idle = now.live === 'blue' ? 'green' : 'blue';
    return md`*${now.service}*: live *${now.live}* ${code(now.versions[now.live] ?? '?')} · idle ${idle} ${code(now.versions[idle] ?? '?')}`;
  }
  return md`*${now.service}*: runs ${code(now.versions.current ?? '?')}`;
}

const RECORD_LINE_MAX = 400;

/** `/azora releases`: per service, what runs now and its releases, newest first. */
export function releasesMessage(
  environment: EnvironmentName,
  services: ServiceNow[],
  perService: number,
): SlackMessage {
  const blocks: KnownBlock[] = [section(md`*Releases in ${environment}*`)];
  for (const svc of services) {
    const newest = [...svc.history].reverse().slice(0, perService);
    const lines = newest.length ? newest.map(recordLine) : ['no release recorded yet'];
    // As many sections as the records fill, so none is cut off unseen; a failure's detail
    // is cut to a line's worth.
    blocks.push(
      ...sections([
        headLine(svc),
        ...lines.map((line) => Mrkdwn.trusted(clip(render(line), RECORD_LINE_MAX))),
      ]),
    );
  }
  if (services.length === 0) blocks.push(context('No service here is released by the bot.'));
  const summary = services
    .map(
      (s) =>
        `${s.service} ${s.live ? `${s.live} ${s.versions[s.live] ?? '?'}` : (s.versions.current ?? '?')}`,
    )
    .join(', ');
  return message(`Releases in ${environment}: ${summary}`, blocks);
}

/** In the release's thread: an alert opened for the service while it bakes. */
export function alertInReleaseMessage(
  alertname: string,
  summary: string,
  baking: Baking,
  after: string,
): SlackMessage {
  const said = md`:rotating_light: *${alertname}* fired ${after} after ${baking.service} went to ${baking.to}, ${code(baking.version)}: ${summary}`;
  return message(said, [section(said)]);
}

/** In the alert's thread: the release it may come from, with the one-click switch back. */
export function releaseInAlertMessage(baking: Baking, after: string, autoSwitchBack: boolean): SlackMessage {
  const said = md`:package: ${baking.service} went to *${baking.to}* (${code(baking.version)}) ${after} before this alert: release ${code(baking.release)}, baking until ${slackDate(baking.until)}.`;
  const auto = autoSwitchBack
    ? md`\n:rewind: This alert switches it back to *${baking.from}* on its own (policy \`releases.autoSwitchBack\`).`
    : '';
  const blocks: KnownBlock[] = [section(md`${said}${auto}`)];
  if (!autoSwitchBack) {
    blocks.push({
      type: 'actions',
      block_id: `release-${baking.release}`,
      elements: [
        {
          type: 'button',
          action_id: actionId('switch-back', baking.release),
          text: { type: 'plain_text', text: `Switch back to ${baking.from}` },
          style: 'danger',
          value: baking.release,
        },
      ],
    });
  }
  return message(md`${said}${auto}`, blocks);
}

/** In the release's thread: the bot is switching back on its own. */
export function autoSwitchBackMessage(alertname: string, baking: Baking): SlackMessage {
  return note(
    md`:rewind: *${alertname}* is one of the policy's \`releases.autoSwitchBack\` alerts: switching ${baking.service} back to *${baking.from}* now, without waiting for approval (it restores what was live before).`,
  );
}
