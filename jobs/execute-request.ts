import { needsApproval } from '../src/requests/domain/guards';
import { executeRequest } from '../src/requests/executor';
import { defineJob } from '../src/kernel/queue/define';
import { requestRef } from '../src/kernel/queue/payloads';
import { switchBackMessage } from '../src/requests/views';
import { endBakeJob } from './end-bake';

/** Runs an approved request once; retried on transient cluster errors with backoff. */
export const executeRequestJob = defineJob({
  queue: 'ops',
  name: 'execute-request',
  payload: requestRef,
  options: { attempts: 4, backoff: { type: 'exponential', delay: 2_000 } },
  async run({ requestId }, ctx) {
    const result = await executeRequest(ctx, requestId, {
      finalAttempt: ctx.job.attemptsMade + 1 >= ctx.job.attempts,
    });
    const request = await ctx.requests.get(requestId);
    // Production keeps the offer for its bake window; anywhere, a service left unhealthy gets it at once.
    if (
      result === 'succeeded' &&
      request?.plan.some((step) => step.kind === 'switch') &&
      (needsApproval(ctx.policy, request.environment) || request.unhealthy?.length)
    ) {
      const bakeUntil = ctx.now() + ctx.policy.guards.bakeWindow;
      const ts = await ctx.messenger.post(
        request.channel,
        switchBackMessage(request, bakeUntil),
        request.messageTs,
      );
      await ctx.queues.enqueue(
        endBakeJob,
        { requestId, channel: request.channel, ts },
        { jobId: `end-bake-${requestId}`, delay: ctx.policy.guards.bakeWindow },
      );
    }
    return { result };
  },
});
