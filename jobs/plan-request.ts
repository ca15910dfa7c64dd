import { z } from 'zod';
import { KubeError } from '../src/kernel/kubernetes/errors';
import type { EnvironmentName } from '../src/commands/domain/types';
import { needsApproval } from '../src/requests/domain/guards';
import { replicaBounds, workloadOf } from '../src/kernel/domain/topology';
import type { OpsRequest } from '../src/requests/domain/types';
import { auditOf } from '../src/requests/executor';
import { planChange, PlanRefusal, servicesOf } from '../src/requests/planner';
import type { JobContext } from '../src/deps';
import { defineJob } from '../src/deps';
import { executeRequestJob, expireRequestJob, planRequestJob } from '../src/requests/contracts';

import { code, md, note, withMentions } from '../src/kernel/slack/blocks';
import { progressMessage, requestMessage } from '../src/requests/views';

/**
 * Turns a change command into a request: plans it against the live cluster, posts the
 * plan (with Approve/Deny where the policy asks), and queues it when no approval is due.
 */
export const planRequestProcessor = defineJob(planRequestJob, async (payload, ctx) => {
  // A retried attempt carries on with the request an earlier attempt stored, so that a
  // Slack failure between the posts never makes a second request with its own buttons.
  const id = await ctx.requests.idForJob(ctx.job.id);
  let request = await ctx.requests.get(id);
  if (!request) {
    const planned = await planRequest(payload, ctx, id);
    if (!('request' in planned)) return planned;
    request = planned.request;
    // Stored before its buttons exist in Slack, so that no click can find it missing.
    await ctx.requests.create(request);
    await ctx.audit.record(auditOf(request, 'requested', request.requester));
  }
  request = await postRequest(ctx, request, payload.threadTs);

  // Queued under fixed ids, so a retry adds nothing twice; an approval request waits for its clicks.
  if (request.expiresAt !== undefined) {
    await ctx.queues.enqueue(
      expireRequestJob,
      { requestId: request.id },
      { jobId: `expire-${request.id}`, delay: Math.max(0, request.expiresAt - ctx.now()) },
    );
  } else {
    await ctx.queues.enqueue(
      executeRequestJob,
      { requestId: request.id },
      { jobId: `execute-${request.id}` },
    );
  }
  return { requestId: request.id };
});

type PlanPayload = z.output<typeof planRequestJob.payload>;

/** The request a command asks for, planned against the live cluster, or why it is refused. */
async function planRequest(
  payload: PlanPayload,
  ctx: JobContext,
  id: string,
): Promise<{ request: OpsRequest } | { refused: string }> {
  const { requester, channel, threadTs } = payload;
  let { command } = payload;
  const refuse = async (reason: string) => {
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
  if (payload.alertGroup) {
    const first = await ctx.runbooks.claim(payload.alertGroup.id, payload.alertGroup.episode, id);
    if (first) return refuse(`a runbook change for this alert is already ${first}`);
  }
  const services = servicesOf(ctx.policy, command, payload.services);
  for (const service of services) {
    const holder = await ctx.locks.holder(command.environment, service);
    const holding = holder ? await ctx.requests.get(holder) : undefined;
    if (holding)
      return refuse(`${service} is being changed by request \`${holding.id}\` of <@${holding.requester}>`);
  }
  let plan;
  try {
    plan = await planChange(ctx.kube, ctx.policy, command, payload.services);
  } catch (err) {
    if (err instanceof PlanRefusal || (err instanceof KubeError && !err.transient))
      return refuse(err.message);
    throw err;
  }

  const approval = needsApproval(ctx.policy, command.environment);
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

/** Posts the request and its progress message, each remembered as soon as it is posted, so a retry posts only what is missing. */
async function postRequest(ctx: JobContext, request: OpsRequest, threadTs?: string): Promise<OpsRequest> {
  const remember = async (fields: Pick<OpsRequest, 'messageTs'> | Pick<OpsRequest, 'progressTs'>) => {
    const updated = await ctx.requests.update(request.id, (current) => ({
      next: { ...current, ...fields },
      value: null,
    }));
    return updated?.request ?? { ...request, ...fields };
  };
  const now = ctx.now();
  if (!request.messageTs) {
    request = await remember({
      messageTs: await ctx.messenger.post(request.channel, requestMessage(request, now), threadTs),
    });
  }
  if (!request.progressTs) {
    request = await remember({
      progressTs: await ctx.messenger.post(
        request.channel,
        progressMessage(request, now),
        threadTs ?? request.messageTs,
      ),
    });
  }
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
