import type { KnownBlock } from '@slack/types';
import { actionId } from '../domain/actions';
import { formatDuration } from '../domain/duration';
import type { OpsRequest, PlanStep } from '../domain/requests/types';
import { context, section, type SlackMessage } from './blocks';

const ts = (ms: number) =>
  `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${new Date(ms).toISOString()}>`;

export function describeStep(step: PlanStep): string {
  switch (step.kind) {
    case 'scale': {
      const hpa = step.hpa
        ? ` (autoscaler ${step.hpa.name} ${step.hpa.min}–${step.hpa.max} gets its bounds moved)`
        : '';
      return `*${step.service}*: \`${step.target}\` replicas ${step.from} → *${step.to}*${hpa}`;
    }
    case 'switch':
      return `*${step.service}*: service \`${step.serviceName}\` traffic ${step.from} → *${step.to}*`;
    case 'maintenance':
      return `*${step.service}*: emergency maintenance for ${formatDuration(step.durationMs)} from approval: ${step.reason}`;
    case 'rollback':
      return (
        `*${step.service}*: \`${step.deployment}\` revision ${step.fromRevision} → *${step.toRevision}* ` +
        `(\`${step.fromImage}\` → \`${step.toImage}\`)`
      );
  }
}

export function commandText(request: OpsRequest): string {
  const { verb, environment, args } = request;
  const services = request.services.join(', ');
  switch (verb) {
    case 'scale':
      return `scale ${environment} ${services} ${args.replicas}${args.force ? ' force' : ''}`;
    case 'switch':
      return `switch ${environment} ${args.colour} ${services}`;
    case 'rollback':
      return `rollback ${environment} ${services}${args.toRevision ? ` to ${args.toRevision}` : ''}`;
    case 'maintenance':
      return `maintenance now ${formatDuration(args.durationMs ?? 0)} ${args.reason ?? ''} ${environment}`;
  }
}

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
export function requestMessage(request: OpsRequest, now = Date.now()): SlackMessage {
  const title = `<@${request.requester}> asked to \`${commandText(request)}\``;
  const blocks: KnownBlock[] = [
    section(
      `${title}\n${request.plan.map((s) => `• ${describeStep(s)}`).join('\n') || '• nothing to change'}`,
    ),
  ];
  if (request.status === 'pending-approval') {
    const left = request.expiresAt
      ? ` · expires in ${formatDuration(Math.max(0, request.expiresAt - now))}`
      : '';
    blocks.push(
      context(
        `Request \`${request.id}\` · ${request.environment} needs an approver other than the requester${left}`,
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
    blocks.push(context(`Request \`${request.id}\` · ${decisionLine(request)}`));
  }
  return { text: `${title}: ${STATUS_LINE[request.status]}`, blocks };
}

function decisionLine(request: OpsRequest): string {
  if (request.approvedBy) return `approved by <@${request.approvedBy.user}> ${ts(request.approvedBy.at)}`;
  if (request.deniedBy) return `denied by <@${request.deniedBy.user}> ${ts(request.deniedBy.at)}`;
  if (request.status === 'expired' && request.expiresAt) return `expired ${ts(request.expiresAt)}`;
  if (request.status === 'stale' || request.status === 'refused') return STATUS_LINE[request.status];
  return request.environment === 'production'
    ? STATUS_LINE[request.status]
    : 'no approval needed in this environment';
}

/** The one progress reply in the request's thread, edited as the job moves on. */
export function progressMessage(request: OpsRequest, now = Date.now()): SlackMessage {
  const took =
    request.startedAt && request.finishedAt
      ? ` in ${formatDuration(request.finishedAt - request.startedAt)}`
      : '';
  const lines = [`${STATUS_LINE[request.status]}${took}`];
  if (request.status === 'running' && request.startedAt)
    lines[0] += ` for ${formatDuration(now - request.startedAt)}`;
  for (const line of request.outcome ?? []) lines.push(`• ${line}`);
  if (request.error) lines.push(`:x: ${request.error}`);
  return { text: lines.join('\n'), blocks: [section(lines.join('\n'))] };
}

/** Offered in the thread after a production switch, for the bake window. */
export function switchBackMessage(request: OpsRequest, bakeUntil: number | undefined): SlackMessage {
  const steps = request.plan.filter((s): s is Extract<PlanStep, { kind: 'switch' }> => s.kind === 'switch');
  const back = steps[0]?.from ?? 'the previous colour';
  if (bakeUntil === undefined) {
    return {
      text: 'Bake window over.',
      blocks: [section(':hourglass: Bake window over; switch back with a new `/azora switch` if needed.')],
    };
  }
  const approval = request.expiresAt !== undefined ? ' (needs approval)' : '';
  const unhealthy = request.unhealthy?.filter((service) => steps.some((s) => s.service === service)) ?? [];
  const text = unhealthy.length
    ? `${unhealthy.join(', ')} unhealthy after the switch. Switch back to ${back}?`
    : `Watching ${steps.map((s) => s.service).join(', ')} until ${new Date(bakeUntil).toISOString()}. Trouble? Switch back to ${back}.`;
  const said = unhealthy.length
    ? `:warning: *${unhealthy.join(', ')}* unhealthy after the switch. One click switches back to *${back}*${approval}.`
    : `:eyes: Bake window until ${ts(bakeUntil)}. Trouble? One click switches back to *${back}*${approval}.`;
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
