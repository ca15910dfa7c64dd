import { defineJob } from '../src/deps';
import { executeRequestJob, expireRequestJob, planRequestJob } from '../src/requests/contracts';
import { auditOf } from '../src/requests/audit';
import { planRequest, postRequest } from '../src/requests/intake';

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
