import { needsApproval } from '../src/requests/domain/guards';
import { executeRequest } from '../src/requests/executor';
import { defineJob } from '../src/deps';
import { endBakeJob, executeRequestJob } from '../src/requests/contracts';

import { switchBackMessage } from '../src/requests/views';

/** Runs an approved request once; retried on transient cluster errors with backoff. */
export const executeRequestProcessor = defineJob(executeRequestJob, async ({ requestId }, ctx) => {
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
});
