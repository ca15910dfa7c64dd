import { z } from 'zod';
import { KubeError } from '../src/adapters/kubernetes/errors';
import { needsApproval } from '../src/domain/requests/guards';
import type { OpsRequest } from '../src/domain/requests/types';
import { auditOf } from '../src/operations/executor';
import { planChange, PlanRefusal, servicesOf } from '../src/operations/planner';
import { defineJob } from '../src/queue/define';
import { changeCommand, slackChannel, slackUser } from '../src/queue/payloads';
import { RequestStore } from '../src/stores/requests';
import { progressMessage, requestMessage } from '../src/views/request';
import { executeRequestJob } from './execute-request';
import { expireRequestJob } from './expire-request';

/**
 * Turns a change command into a request: plans it against the live cluster, posts the
 * plan (with Approve/Deny where the policy asks), and queues it when no approval is due.
 */
export const planRequestJob = defineJob({
  queue: 'ops',
  name: 'plan-request',
  payload: z.object({
    command: changeCommand,
    /** Overrides the command's services (a switch back of several services). */
    services: z.array(z.string()).optional(),
    requester: slackUser,
    channel: slackChannel,
    responseUrl: z.url().optional(),
    threadTs: z.string().optional(),
    source: z.enum(['command', 'alert', 'switch-back']),
  }),
  async run(payload, ctx) {
    const { command, requester, channel, threadTs } = payload;
    const refuse = async (reason: string) => {
      const text = `:no_entry_sign: \`${command.verb} ${command.environment}\` refused: ${reason}`;
      if (payload.responseUrl) await ctx.messenger.respond(payload.responseUrl, { text, blocks: [] });
      else await ctx.messenger.post(channel, { text, blocks: [] }, threadTs);
      await ctx.audit.record({
        type: 'refused',
        actor: requester,
        environment: command.environment,
        detail: reason,
      });
      return { refused: reason };
    };

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
    const request: OpsRequest = {
      id: RequestStore.newId(),
      verb: command.verb,
      environment: command.environment,
      services,
      args: {
        ...(command.verb === 'scale' ? { replicas: command.replicas, force: command.force } : {}),
        ...(command.verb === 'switch' ? { colour: command.colour } : {}),
        ...(command.verb === 'rollback' && command.toRevision ? { toRevision: command.toRevision } : {}),
      },
      requester,
      channel,
      source: payload.source,
      status: approval ? 'pending-approval' : 'approved',
      createdAt: now,
      ...(approval ? { expiresAt: now + ctx.policy.guards.approvalTtl } : {}),
      plan,
    };
    request.messageTs = await ctx.messenger.post(channel, requestMessage(request, now), threadTs);
    request.progressTs = await ctx.messenger.post(
      channel,
      progressMessage(request, now),
      threadTs ?? request.messageTs,
    );
    await ctx.requests.create(request);
    await ctx.audit.record(auditOf(request, 'requested', requester));

    if (approval) {
      await ctx.queues.enqueue(
        expireRequestJob,
        { requestId: request.id },
        {
          jobId: `expire-${request.id}`,
          delay: ctx.policy.guards.approvalTtl,
        },
      );
    } else {
      await ctx.queues.enqueue(
        executeRequestJob,
        { requestId: request.id },
        { jobId: `execute-${request.id}` },
      );
    }
    return { requestId: request.id };
  },
});
