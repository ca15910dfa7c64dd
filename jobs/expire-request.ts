import { auditOf } from '../src/requests/audit';
import { defineJob } from '../src/deps';
import { expireRequestJob } from '../src/requests/contracts';

import { progressMessage, requestMessage } from '../src/requests/views';

/** Runs when an approval's time is up: a request still waiting becomes expired, and its buttons go. */
export const expireRequestProcessor = defineJob(expireRequestJob, async ({ requestId }, ctx) => {
  const result = await ctx.requests.update(requestId, (current) =>
    current.status === 'pending-approval'
      ? { next: { ...current, status: 'expired' }, value: true }
      : { value: false },
  );
  // Expired by an earlier attempt whose edits failed: they are made again, not the audit.
  if (!result || (!result.changed && result.request.status !== 'expired')) return { expired: false };
  const { request } = result;
  if (result.changed) await ctx.audit.record(auditOf(request, 'expired', 'bot'));
  if (request.messageTs)
    await ctx.messenger.update(request.channel, request.messageTs, requestMessage(request, ctx.now()));
  if (request.progressTs)
    await ctx.messenger.update(request.channel, request.progressTs, progressMessage(request, ctx.now()));
  return { expired: true };
});
