import { needsApproval } from '../src/requests/domain/guards';
import { trafficMoves } from '../src/requests/domain/traffic';
import { executeRequest } from '../src/requests/executor';
import { defineJob } from '../src/deps';
import { endBakeJob, executeRequestJob } from '../src/requests/contracts';

import { closeWindowMessage, switchBackMessage } from '../src/requests/views';
import { restoreWindowId } from '../src/requests/database';
import { watchAfterChange } from '../src/releases';

/** Runs an approved request once; retried on transient cluster errors with backoff. */
export const executeRequestProcessor = defineJob(executeRequestJob, async ({ requestId }, ctx) => {
  const result = await executeRequest(ctx, requestId, {
    finalAttempt: ctx.job.attemptsMade + 1 >= ctx.job.attempts,
  });
  const request = await ctx.requests.get(requestId);
  if (result === 'succeeded' && request) await watchAfterChange(ctx, request);
  if (result === 'failed' && request?.plan.some((step) => step.kind === 'restore')) {
    await ctx.messenger.post(
      request.channel,
      closeWindowMessage(restoreWindowId(request)),
      request.messageTs,
    );
  }
  // Production keeps the offer for its bake window; anywhere, a service left unhealthy gets it at once.
  if (
    result === 'succeeded' &&
    request &&
    trafficMoves(request.plan).length > 0 &&
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
