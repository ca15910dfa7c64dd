import { needsApproval } from '../src/requests/domain/guards';
import { trafficMoves } from '../src/requests/domain/traffic';
import type { OpsRequest } from '../src/requests/domain/types';
import { executeRequest } from '../src/requests/executor';
import { defineJob, type JobContext } from '../src/deps';
import { endBakeJob, executeRequestJob } from '../src/requests/contracts';

import { closeWindowMessage, switchBackMessage } from '../src/requests/views';
import { restoreWindowId } from '../src/requests/database';
import { watchAfterChange } from '../src/releases';
import { carriedSnapshot } from '../src/kernel/versioned';
import { workloadOf } from '../src/kernel/domain/topology';

/**
 * Runs an approved request once; retried on transient cluster errors with backoff. A retry
 * that finds the change made (an earlier attempt failed after it: Slack, Redis) still does
 * what follows it: the bake watch and the Switch back offer, each once.
 */
export const executeRequestProcessor = defineJob(executeRequestJob, async ({ requestId, approved }, ctx) => {
  const result = await executeRequest(ctx, requestId, {
    finalAttempt: ctx.job.attemptsMade + 1 >= ctx.job.attempts,
    owned: ctx.job.owned,
    // A retry, or a run after a stall, finds the request changed since: it reads it instead.
    approved: ctx.job.attemptsStarted <= 1 && approved ? carriedSnapshot<OpsRequest>(approved) : undefined,
  });
  const request = await ctx.requests.get(requestId);
  // An automatic switch back that changed nothing because another change was in its way
  // (its service locked, the plan stale) gives its claim back: the next alert of the bake
  // window may ask again. Refused for any other reason, it stays used.
  const autoSwitchBack = request?.args.autoSwitchBack;
  const inTheWay = result === 'stale' || result === 'locked';
  if (inTheWay && autoSwitchBack)
    for (const service of request.services)
      await ctx.releases.releaseAutoSwitchBack(autoSwitchBack.release, service);
  const succeeded =
    result === 'succeeded' ||
    (result === 'skipped' && ctx.job.attemptsMade > 0 && request?.status === 'succeeded');
  if (succeeded && request) await watchAfterChange(ctx, request);
  if (result === 'failed' && request?.plan.some((step) => step.kind === 'restore')) {
    await ctx.messenger.post(
      request.channel,
      closeWindowMessage(restoreWindowId(request)),
      request.messageTs,
    );
  }
  // Production keeps the offer for the bake window of what a change moved (a rollback's
  // too: it may be worse than what it left); anywhere, a service left unhealthy gets it at
  // once, and so does a change that failed after it moved traffic. A switch back that went
  // well is not offered a way back onto the release it just left.
  const backward = request?.source === 'switch-back' || request?.source === 'auto-switch-back';
  if (
    request &&
    trafficMoves(request.plan).length > 0 &&
    ((succeeded &&
      ((!backward && needsApproval(ctx.policy, request.environment)) || request.unhealthy?.length)) ||
      (result === 'failed' && (await movedTraffic(ctx, request))))
  )
    await offerSwitchBack(ctx, request);
  return { result };
});

/** Whether any service of the request serves the colour its plan moved it to. */
async function movedTraffic(ctx: JobContext, request: OpsRequest): Promise<boolean> {
  const moves = trafficMoves(request.plan);
  const live = await Promise.all(
    moves.map((m) => {
      const workload = workloadOf(ctx.policy, request.environment, m.service);
      return workload.kind === 'blue-green'
        ? ctx.kube.activeColour(request.environment, workload).catch(() => undefined)
        : undefined;
    }),
  );
  // A colour the cluster did not tell (the API failing now) may have moved: offered, as the
  // switch back plans only the services that did.
  return moves.some((m, i) => live[i] === undefined || live[i] === m.to);
}

/** The Switch back offer, posted once (its ts kept on the request), and its end queued once. */
async function offerSwitchBack(ctx: JobContext, request: OpsRequest): Promise<void> {
  const bakeUntil = ctx.now() + ctx.policy.guards.bakeWindow;
  const ts =
    request.switchBackTs ??
    (await ctx.messenger.post(request.channel, switchBackMessage(request, bakeUntil), request.messageTs));
  if (!request.switchBackTs)
    await ctx.requests.update(request.id, (current) => ({
      next: { ...current, switchBackTs: ts },
      value: null,
    }));
  await ctx.queues.enqueue(
    endBakeJob,
    { requestId: request.id, channel: request.channel, ts },
    { jobId: `end-bake-${request.id}`, delay: ctx.policy.guards.bakeWindow },
  );
}
