import type { z } from 'zod';
import type { EnvironmentName } from '../kernel/domain/environment';
import { Refusal } from '../kernel/domain/refusal';
import { replicaBounds, workloadOf } from '../kernel/domain/topology';
import { KubeError } from '../kernel/kubernetes/errors';
import { code, md, note, withMentions, type SlackMessage } from '../kernel/slack/blocks';
import type { JobContext } from '../deps';
import type { planRequestJob } from './contracts';
import { planNeedsApproval } from './domain/guards';
import type { OpsRequest } from './domain/types';
import { planChange, servicesOf } from './planner';
import { progressMessage, requestMessage } from './views';

/**
 * How a change command becomes a request: planned against the live cluster (or refused,
 * said where it was asked and audited), then posted with its progress reply.
 */

export type PlanPayload = z.output<typeof planRequestJob.payload>;

/** The request a command asks for, planned against the live cluster, or why it is refused. */
export async function planRequest(
  payload: PlanPayload,
  ctx: JobContext,
  id: string,
): Promise<{ request: OpsRequest } | { refused: string }> {
  const { requester, channel, threadTs, alertGroup } = payload;
  let { command } = payload;
  const claimant = { id, requester };
  const refuse = async (reason: string) => {
    // Planned to nothing: the episode is free again for the next press (a no-op unless this request held it).
    if (alertGroup) await ctx.runbooks.release(alertGroup.id, alertGroup.episode, claimant);
    const text = note(
      md`:no_entry_sign: ${code(`${command.verb} ${command.environment}`)} refused: ${withMentions(reason)}`,
    );
    if (payload.responseUrl) await ctx.messenger.respond(payload.responseUrl, text);
    else await ctx.messenger.post(channel, text, threadTs);
    await ctx.audit.record({
      type: 'refused',
      actor: requester,
      environment: command.environment,
      detail: reason,
    });
    return { refused: reason };
  };

  if (payload.scaleBy && command.verb === 'scale') {
    const target = await scaleUpTarget(ctx, command.environment, command.service, payload.scaleBy);
    if (typeof target === 'string') return refuse(target);
    command = { ...command, replicas: target };
  }
  // Claimed before anything is planned or stored: a second press planned alongside is refused.
  if (alertGroup) {
    const first = await ctx.runbooks.claim(alertGroup.id, alertGroup.episode, claimant);
    if (first) return refuse(`a runbook change for this alert is already ${first}`);
  }
  const services = servicesOf(ctx.policy, command, payload.services);
  for (const service of services) {
    const holder = await ctx.locks.holder(command.environment, service);
    const holding = holder ? await ctx.requests.get(holder) : undefined;
    if (holding) {
      // An automatic switch back kept out by another change: the next alert of the bake window may ask again.
      if (payload.autoSwitchBack)
        await ctx.releases.releaseAutoSwitchBack(payload.autoSwitchBack.release, service);
      return refuse(`${service} is being changed by request \`${holding.id}\` of <@${holding.requester}>`);
    }
  }
  let plan;
  try {
    const forceCounts =
      command.verb === 'deploy' &&
      command.force &&
      (await ctx.access.isApprover(command.environment, requester));
    plan = await planChange(ctx.kube, ctx.policy, command, payload.services, payload.targets, forceCounts);
  } catch (err) {
    if (err instanceof Refusal || (err instanceof KubeError && !err.transient)) return refuse(err.message);
    throw err;
  }

  if (alertGroup) {
    const first = await ctx.runbooks.hold(alertGroup.id, alertGroup.episode, claimant);
    if (first) return refuse(`a runbook change for this alert is already ${first}`);
  }

  // An automatic switch back restores what was live and healthy: it waits for nobody.
  const approval =
    planNeedsApproval(ctx.policy, command.environment, plan) && payload.source !== 'auto-switch-back';
  const now = ctx.now();
  return {
    request: {
      id,
      verb: command.verb,
      environment: command.environment,
      services,
      args: {
        ...(command.verb === 'scale' ? { replicas: command.replicas, force: command.force } : {}),
        ...(command.verb === 'switch' ? { colour: command.colour } : {}),
        ...(command.verb === 'rollback' && command.toRevision ? { toRevision: command.toRevision } : {}),
        ...(command.verb === 'deploy' ? { version: command.version, force: command.force } : {}),
        ...(command.verb === 'restore' ? { backup: command.backup } : {}),
        ...(payload.autoSwitchBack ? { autoSwitchBack: payload.autoSwitchBack } : {}),
        ...(command.verb === 'maintenance'
          ? {
              durationMs: command.durationMs,
              reason: command.reason,
              maintenance: command.action,
              ...(command.start !== undefined ? { start: command.start } : {}),
              ...(command.windowId ? { windowId: command.windowId } : {}),
            }
          : {}),
      },
      requester,
      channel,
      source: payload.source,
      status: approval ? 'pending-approval' : 'approved',
      createdAt: now,
      ...(approval ? { expiresAt: now + ctx.policy.guards.approvalTtl } : {}),
      plan,
    },
  };
}

/**
 * Posts the request and its progress message, each remembered as soon as it is posted, so
 * a retry posts only what is missing. A decision (approve, deny, expiry) made while one
 * was on its way to Slack found no ts to update it by: that message is then brought up to
 * date at once.
 */
export async function postRequest(
  ctx: JobContext,
  request: OpsRequest,
  threadTs?: string,
): Promise<OpsRequest> {
  const post = async (
    field: 'messageTs' | 'progressTs',
    draw: (request: OpsRequest, now: number) => SlackMessage,
    thread: string | undefined,
  ) => {
    const drawn = request.status;
    const ts = await ctx.messenger.post(request.channel, draw(request, ctx.now()), thread);
    const updated = await ctx.requests.update(request.id, (current) => ({
      next: { ...current, [field]: ts },
      value: null,
    }));
    request = updated?.request ?? { ...request, [field]: ts };
    if (request.status !== drawn) await ctx.messenger.update(request.channel, ts, draw(request, ctx.now()));
  };
  if (!request.messageTs) await post('messageTs', requestMessage, threadTs);
  if (!request.progressTs) await post('progressTs', progressMessage, threadTs ?? request.messageTs);
  return request;
}

/** The replica count a scale-up button asks for: the live count plus the step, capped at the policy's maximum. */
async function scaleUpTarget(
  ctx: JobContext,
  env: EnvironmentName,
  service: string,
  step: number,
): Promise<number | string> {
  const state = await ctx.kube.serviceState(env, workloadOf(ctx.policy, env, service));
  const live = state.workloads.find((w) => !state.activeColour || w.colour === state.activeColour);
  const { max } = replicaBounds(ctx.policy, env, service);
  const current = live?.desired ?? 0;
  if (current >= max) return `${service} in ${env} already runs ${current} replicas, the policy's maximum`;
  return Math.min(max, current + step);
}
