import type { Policy } from '../../config/policy';
import type { EnvironmentName } from '../../commands/domain/types';
import { formatDuration } from '../../kernel/domain/duration';
import { approversOf } from '../../access/domain/rules';
import { environmentOf, replicaBounds } from '../../kernel/domain/topology';
import type { OpsRequest, PlanStep } from './types';

/** A guard said no; the message is shown to the person as it is. */
export type Verdict = { ok: true } | { ok: false; reason: string };

const OK: Verdict = { ok: true };
/** A refusal with its reason. */
export const no = (reason: string): Verdict => ({ ok: false, reason });

export function needsApproval(policy: Policy, env: EnvironmentName): boolean {
  return environmentOf(policy, env).approval === 'required';
}

/**
 * Whether a planned request waits for an approver: in an environment that requires it,
 * and for a database restore anywhere (it replaces every row the services wrote since the
 * backup; DESIGN: a restore needs approval and a typed confirmation). Staging's approvers
 * are then every approver of the policy (access/domain/rules.ts).
 */
export function planNeedsApproval(policy: Policy, env: EnvironmentName, plan: readonly PlanStep[]): boolean {
  return needsApproval(policy, env) || plan.some((step) => step.kind === 'restore');
}

export function checkReplicaBounds(
  policy: Policy,
  env: EnvironmentName,
  service: string,
  replicas: number,
): Verdict {
  const { min, max } = replicaBounds(policy, env, service);
  if (replicas < min || replicas > max) {
    return no(
      `${service} in ${env} must run between ${min} and ${max} replicas (policy); ${replicas} is outside`,
    );
  }
  return OK;
}

/**
 * Whether `user` may approve or deny `request` at `now`: an approver other than the
 * requester, while it waits and before it expires; the requester may withdraw it with
 * Deny. Group membership is resolved by the caller (it needs Slack), so this stays pure.
 */
export function checkDecision(
  policy: Policy,
  request: OpsRequest,
  decision: 'approve' | 'deny',
  user: string,
  isApprover: boolean,
  now: number,
): Verdict {
  if (request.status !== 'pending-approval') return no(alreadyDecided(request));
  if (request.expiresAt !== undefined && now >= request.expiresAt) {
    return no(
      `this request expired ${formatDuration(now - request.expiresAt)} ago; ask again with the same command`,
    );
  }
  // Staging names none of its own: every approver of the policy approves there (a restore).
  const approvers = approversOf(policy, request.environment)
    .map((id) => `<${mention(id)}>`)
    .join(', ');
  if (user === request.requester) {
    return decision === 'deny'
      ? OK
      : no(`you asked for this change; someone else must approve it (approvers: ${approvers})`);
  }
  if (!isApprover) return no(`only ${approvers} can ${decision} ${request.environment} changes`);
  return OK;
}

export function alreadyDecided(request: OpsRequest): string {
  switch (request.status) {
    case 'approved':
    case 'running':
    case 'succeeded':
    case 'failed':
      return request.approvedBy
        ? `already approved by <@${request.approvedBy.user}>`
        : `already ${request.status}`;
    case 'denied':
      return `already denied by <@${request.deniedBy?.user ?? '?'}>`;
    default:
      return `this request is ${request.status}`;
  }
}

export const mention = (id: string): string => (id.startsWith('S') ? `!subteam^${id}` : `@${id}`);

/**
 * Scale changes of one service are `cooldownMs` apart. `force` lifts that only when it
 * counts (an approver asked for it or approved it); `forceAsked` is whether the request
 * carried it at all, so the refusal tells apart "add force" and "force did not count".
 */
export function checkCooldown(
  lastScaleAt: number | undefined,
  cooldownMs: number,
  now: number,
  service: string,
  force: boolean,
  forceAsked = force,
): Verdict {
  if (force || lastScaleAt === undefined) return OK;
  const wait = lastScaleAt + cooldownMs - now;
  if (wait <= 0) return OK;
  const FORCE_RULE = 'it counts when an approver asks for it or approves the request';
  return no(
    `${service} was scaled ${formatDuration(now - lastScaleAt)} ago; scale changes are ${formatDuration(cooldownMs)} apart. ` +
      `Try again in ${formatDuration(wait)}` +
      (forceAsked ? `: \`force\` did not count, ${FORCE_RULE}` : `, or add \`force\` (${FORCE_RULE})`),
  );
}
