import type { CoreDeps } from '../deps';
import { executeRequestJob, MAX_CARRIED_REQUEST } from './contracts';
import { checkDecision, type Verdict } from './domain/guards';
import type { OpsRequest } from './domain/types';
import type { Snapshot } from '../kernel/versioned';
import { auditOf } from './audit';
import { needsConfirmation, progressMessage, requestMessage } from './views';

export type Decision = 'approve' | 'deny';

/** What came of a decision: done, refused with the reason, or an approval that first needs its typed confirmation. */
export type DecisionOutcome =
  { kind: 'done' } | { kind: 'refused'; reason: string } | { kind: 'confirm'; request: OpsRequest };

const unknown = (requestId: string): DecisionOutcome => ({
  kind: 'refused',
  reason: `request \`${requestId}\` is not known (any more)`,
});

/** A decision refused: audited like every refusal, and said to the one who pressed. */
export async function refused(
  deps: Pick<CoreDeps, 'audit'>,
  request: OpsRequest,
  decision: Decision,
  user: string,
  reason: string,
): Promise<DecisionOutcome> {
  await deps.audit.record(auditOf(request, `${decision}-refused`, user, reason));
  return { kind: 'refused', reason };
}

/**
 * Approve or Deny a request: the state change, the execute job (an approval that cannot
 * be queued goes back to waiting), the audit and the thread's messages. A destructive
 * request (a database restore) is approved only once its approver has typed the
 * environment's name (`confirmed`); before that the answer is `confirm`.
 */
export async function decide(
  deps: CoreDeps,
  {
    user,
    requestId,
    decision,
    confirmed = false,
    readAhead,
  }: {
    user: string;
    requestId: string;
    decision: Decision;
    confirmed?: boolean;
    /** The request's read, started beside the click's replay check (see ReadAheadClick). */
    readAhead?: Promise<Snapshot<OpsRequest> | undefined>;
  },
): Promise<DecisionOutcome> {
  const { requests, policy, now } = deps;
  const read = await (readAhead ?? requests.read(requestId));
  if (!read) return unknown(requestId);
  const known = read.value;
  const isApprover = await deps.access.isApprover(known.environment, user);
  const at = now();
  if (decision === 'approve' && !confirmed && needsConfirmation(known)) {
    const verdict = checkDecision(policy, known, decision, user, isApprover, at);
    if (verdict.ok) return { kind: 'confirm', request: known };
    return refused(deps, known, decision, user, verdict.reason);
  }
  const result = await requests.update<Verdict>(
    requestId,
    (current) => {
      const verdict = checkDecision(policy, current, decision, user, isApprover, at);
      if (!verdict.ok) return { value: verdict };
      const next: OpsRequest =
        decision === 'approve'
          ? { ...current, status: 'approved', approvedBy: { user, at } }
          : { ...current, status: 'denied', deniedBy: { user, at } };
      return { next, value: verdict };
    },
    read,
  );
  if (!result) return unknown(requestId);
  if (!result.value.ok) return refused(deps, result.request, decision, user, result.value.reason);
  const { request } = result;
  if (decision === 'approve') {
    try {
      const approved =
        result.stored !== undefined && result.stored.length <= MAX_CARRIED_REQUEST
          ? result.stored
          : undefined;
      await deps.queues.enqueue(
        executeRequestJob,
        { requestId, ...(approved === undefined ? {} : { approved }) },
        { jobId: `execute-${requestId}` },
      );
    } catch (err) {
      // Approved but not queued would be stuck: pending again, the approver can press again.
      await requests.update(requestId, ({ approvedBy: _unqueued, ...current }) => ({
        next: current.status === 'approved' ? { ...current, status: 'pending-approval' } : undefined,
        value: null,
      }));
      throw err;
    }
  }
  await deps.audit.record(auditOf(request, decision === 'approve' ? 'approved' : 'denied', user));
  if (request.messageTs)
    await deps.messenger.update(request.channel, request.messageTs, requestMessage(request, now()));
  // A denial ends the request here: its progress reply must stop saying it waits.
  if (decision === 'deny' && request.progressTs)
    await deps.messenger.update(request.channel, request.progressTs, progressMessage(request, now()));
  return { kind: 'done' };
}
