import type { KnownBlock, View } from '@slack/types';
import { actionId } from '../kernel/slack/actions';
import { formatDuration } from '../kernel/domain/duration';
import { boundsForScale } from '../kernel/domain/autoscaler';
import type { OpsRequest, PlanStep } from './domain/types';
import { systemClock } from '../kernel/clock';
import {
  code,
  context,
  joinText,
  md,
  mention,
  message,
  note,
  render,
  section,
  slackDate,
  sections,
  withMentions,
  type Mrkdwn,
  type SlackMessage,
} from '../kernel/slack/blocks';
import { plainText } from '../kernel/slack/typed-text';
import { commandText } from './domain/describe';
import { trafficMoves } from './domain/traffic';
import { versionOf } from '../kernel/domain/release';

const ts = (ms: number) => slackDate(ms, '{date_short_pretty} {time_secs}');

/** What a scale does to the autoscaler that owns its workload: its bounds before and after. */
function autoscalerText(hpa: { name: string; min: number; max: number }, from: number, to: number): string {
  const bounds = boundsForScale(hpa, from, to);
  const capped = to < from ? `: it cannot scale above ${to} until its maximum is raised again` : '';
  return ` (autoscaler ${hpa.name} ${hpa.min}–${hpa.max} → ${bounds.min}–${bounds.max}${capped})`;
}

/** One step of a plan, as the thread shows it. */
export function describeStep(step: PlanStep): Mrkdwn {
  switch (step.kind) {
    case 'scale': {
      return md`*${step.service}*: ${code(step.target)} replicas ${step.from} → *${step.to}*${step.hpa ? autoscalerText(step.hpa, step.from, step.to) : ''}`;
    }
    case 'switch': {
      const version = (image?: string) => (image ? md` (${code(versionOf(image))})` : '');
      return md`*${step.service}*: service ${code(step.serviceName)} traffic ${step.from}${version(step.fromImage)} → *${step.to}*${version(step.toImage)}`;
    }
    case 'deploy': {
      const to = code(versionOf(step.toImage));
      const forced = step.forced ? md` · :warning: never released to staging, forced by an approver` : '';
      if (!step.blueGreen)
        return md`*${step.service}*: ${code(step.deployment)} ${code(versionOf(step.fromImage))} → *${to}*, rolling; then rollout, health and smoke checks${forced}`;
      const { live, liveImage, idle, replicas } = step.blueGreen;
      return md`*${step.service}*: live *${live}* runs ${code(versionOf(liveImage))}; idle *${idle}* (${code(step.deployment)}, now ${code(versionOf(step.fromImage))}) gets ${to} at ${replicas} replicas, is checked on its own pods, then takes the traffic${forced}`;
    }
    case 'maintenance':
      return md`*${step.service}*: ${maintenanceStepText(step)}`;
    case 'backup':
      return md`*database*: back up ${step.service} first (a Job from the policy's template); if it fails, nothing else is touched`;
    case 'restore':
      return md`*database*: :warning: replace the ${step.service} database with backup ${code(step.backupId)}, inside a maintenance window (alerts silenced) that closes once the query verifies it, or stays open, at most ${formatDuration(step.windowMs)}, if it fails`;
    case 'rollback':
      return md`*${step.service}*: ${code(step.deployment)} revision ${step.fromRevision} → *${step.toRevision}* (${code(step.fromImage)} → ${code(step.toImage)})`;
  }
}

function maintenanceStepText(step: Extract<PlanStep, { kind: 'maintenance' }>): Mrkdwn {
  const span = formatDuration(step.durationMs);
  switch (step.action ?? 'now') {
    case 'now':
      return md`emergency maintenance for ${span} from approval: ${step.reason}`;
    case 'schedule':
      return md`maintenance on short notice, ${slackDate(step.start ?? 0)} for ${span}: ${step.reason}`;
    case 'move':
      return md`move maintenance ${code(step.windowId ?? '?')} to ${slackDate(step.start ?? 0)} for ${span}: ${step.reason}`;
    case 'cancel':
      return md`cancel maintenance ${code(step.windowId ?? '?')}: ${step.reason}`;
  }
}

/** The plan as plain text, for the audit trail (and the incident timelines it feeds). */
export const planText = (plan: PlanStep[]): string =>
  plan.map((step) => plainText(render(describeStep(step)))).join('; ');

const STATUS_LINE: Record<OpsRequest['status'], string> = {
  planning: ':hourglass: planning',
  'pending-approval': ':raised_hand: waiting for approval',
  approved: ':white_check_mark: approved, queued',
  denied: ':no_entry: denied',
  expired: ':hourglass_flowing_sand: expired without approval',
  stale: ':warning: the cluster changed since the plan; not run',
  running: ':gear: running',
  succeeded: ':large_green_circle: succeeded',
  failed: ':red_circle: failed',
  refused: ':no_entry_sign: refused',
};

/** The request's parent message: plan, requester, and Approve/Deny while it waits. */
export function requestMessage(request: OpsRequest, now = systemClock.now()): SlackMessage {
  const auto = request.args.autoSwitchBack;
  const title = auto
    ? md`:rewind: *${auto.alert}* fired: switching back on its own, undoing release ${code(auto.release)} of ${mention(request.requester)}`
    : md`${mention(request.requester)} asked to ${code(commandText(request))}`;
  const steps = request.plan.length
    ? request.plan.map((s) => md`• ${describeStep(s)}`)
    : ['• nothing to change'];
  const blocks: KnownBlock[] = sections([title, ...steps]);
  if (request.status === 'pending-approval') {
    const left = request.expiresAt
      ? ` · expires in ${formatDuration(Math.max(0, request.expiresAt - now))}`
      : '';
    blocks.push(
      context(
        md`Request ${code(request.id)} · ${request.environment} needs an approver other than the requester${left}`,
      ),
      {
        type: 'actions',
        block_id: `request-${request.id}`,
        elements: [
          {
            type: 'button',
            action_id: actionId('approve', request.id),
            text: { type: 'plain_text', text: 'Approve' },
            style: 'primary',
            value: request.id,
          },
          {
            type: 'button',
            action_id: actionId('deny', request.id),
            text: { type: 'plain_text', text: 'Deny' },
            style: 'danger',
            value: request.id,
          },
        ],
      },
    );
  } else {
    blocks.push(context(md`Request ${code(request.id)} · ${decisionLine(request)}`));
  }
  return message(md`${title}: ${STATUS_LINE[request.status]}`, blocks);
}

function decisionLine(request: OpsRequest): Mrkdwn | string {
  if (request.approvedBy)
    return md`approved by ${mention(request.approvedBy.user)} ${ts(request.approvedBy.at)}`;
  if (request.deniedBy) return md`denied by ${mention(request.deniedBy.user)} ${ts(request.deniedBy.at)}`;
  if (request.status === 'expired' && request.expiresAt) return md`expired ${ts(request.expiresAt)}`;
  if (request.status === 'stale' || request.status === 'refused') return STATUS_LINE[request.status];
  return request.environment === 'production'
    ? STATUS_LINE[request.status]
    : 'no approval needed in this environment';
}

/** The one progress reply in the request's thread, edited as the job moves on. */
export function progressMessage(
  request: OpsRequest,
  now = systemClock.now(),
  /** The step running now, while a long one runs (a rollout, a restore's Job). */
  current?: PlanStep,
): SlackMessage {
  const took =
    request.startedAt && request.finishedAt
      ? ` in ${formatDuration(request.finishedAt - request.startedAt)}`
      : '';
  const running =
    request.status === 'running' && request.startedAt
      ? ` for ${formatDuration(now - request.startedAt)}`
      : '';
  const decided = request.deniedBy
    ? md` by ${mention(request.deniedBy.user)} ${ts(request.deniedBy.at)}`
    : request.status !== 'pending-approval' && request.approvedBy && !request.startedAt
      ? md` by ${mention(request.approvedBy.user)}`
      : '';
  const lines: Array<Mrkdwn | string> = [md`${STATUS_LINE[request.status]}${decided}${took}${running}`];
  // Outcome lines and errors carry cluster and Slack texts: plain strings, escaped.
  for (const line of request.outcome ?? []) lines.push(md`• ${withMentions(line)}`);
  if (request.error) lines.push(md`:x: ${withMentions(request.error)}`);
  if (current && request.status === 'running')
    lines.push(md`:hourglass_flowing_sand: now: ${describeStep(current)}`);
  return note(joinText(lines, '\n'));
}

/** Offered in the thread after a production switch, for the bake window. */
export function switchBackMessage(request: OpsRequest, bakeUntil: number | undefined): SlackMessage {
  const steps = trafficMoves(request.plan);
  const colours = new Set(steps.map((s) => s.from));
  // Each service goes back to the colour it left; one name only when they all left the same.
  const back = colours.size === 1 ? steps[0]!.from : 'each one’s previous colour';
  if (bakeUntil === undefined) {
    return {
      text: 'Bake window over.',
      blocks: [section(':hourglass: Bake window over; switch back with a new `/azora switch` if needed.')],
    };
  }
  const approval = request.expiresAt !== undefined ? ' (needs approval)' : '';
  const unhealthy = request.unhealthy?.filter((service) => steps.some((s) => s.service === service)) ?? [];
  const failed = request.status === 'failed';
  const text = failed
    ? `This change failed after it moved traffic. Switch back to ${back}?`
    : unhealthy.length
      ? `${unhealthy.join(', ')} unhealthy after the switch. Switch back to ${back}?`
      : `Watching ${steps.map((s) => s.service).join(', ')} until ${new Date(bakeUntil).toISOString()}. Trouble? Switch back to ${back}.`;
  const said = failed
    ? md`:warning: This change failed after it moved traffic (see above). One click switches what moved back to *${back}*${approval}.`
    : unhealthy.length
      ? md`:warning: *${unhealthy.join(', ')}* unhealthy after the switch. One click switches back to *${back}*${approval}.`
      : md`:eyes: Bake window until ${ts(bakeUntil)}. Trouble? One click switches back to *${back}*${approval}.`;
  return {
    text,
    blocks: [
      section(said),
      {
        type: 'actions',
        block_id: `switch-back-${request.id}`,
        elements: [
          {
            type: 'button',
            action_id: actionId('switch-back', request.id),
            text: { type: 'plain_text', text: `Switch back to ${back}` },
            style: 'danger',
            value: request.id,
          },
        ],
      },
    ],
  };
}

/** The modal an approver of a destructive request confirms in. */
export const CONFIRM_RESTORE = 'azora:confirm-restore';

/** A database restore in an environment that requires approval is confirmed by typing the environment's name. */
export function needsConfirmation(request: OpsRequest): boolean {
  return request.expiresAt !== undefined && request.plan.some((s) => s.kind === 'restore');
}

export function confirmRestoreView(request: OpsRequest): View {
  const step = request.plan.find((s) => s.kind === 'restore');
  const backup = step?.kind === 'restore' ? step.backupId : '?';
  return {
    type: 'modal',
    callback_id: CONFIRM_RESTORE,
    private_metadata: request.id,
    title: { type: 'plain_text', text: 'Confirm the restore' },
    submit: { type: 'plain_text', text: 'Approve restore' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(
        md`:warning: This replaces the *${request.environment}* database with backup ${code(backup)}, asked for by ${mention(request.requester)} (request ${code(request.id)}). Everything written since that backup is lost.`,
      ),
      {
        type: 'input',
        block_id: 'confirm',
        label: { type: 'plain_text', text: `Type ${request.environment} to approve` },
        element: {
          type: 'plain_text_input',
          action_id: 'typed',
          placeholder: { type: 'plain_text', text: request.environment },
        },
      },
    ],
  };
}

/** After a failed restore: the maintenance window stays open until a person closes it. */
export function closeWindowMessage(windowId: string): SlackMessage {
  const said = md`:construction: Maintenance ${code(windowId)} stays open (alerts stay silenced) until the database is known to be sound. Close it here, or with ${code(`/azora maintenance cancel ${windowId}`)}.`;
  return {
    text: render(said),
    blocks: [
      section(said),
      {
        type: 'actions',
        block_id: `close-window-${windowId}`,
        elements: [
          {
            type: 'button',
            action_id: actionId('close-window', windowId),
            text: { type: 'plain_text', text: 'Close the maintenance window' },
            value: windowId,
          },
        ],
      },
    ],
  };
}
