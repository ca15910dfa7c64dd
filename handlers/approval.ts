import type { RespondFn } from '@slack/bolt';
import { executeRequestJob } from '../src/requests/contracts';
import { planRequestJob } from '../src/requests/contracts';
import { checkDecision, type Verdict } from '../src/requests/domain/guards';
import type { OpsRequest } from '../src/requests/domain/types';
import { trafficMoves } from '../src/requests/domain/traffic';
import { auditOf } from '../src/requests/executor';
import type { CoreDeps } from '../src/deps';
import { md, note, withMentions } from '../src/kernel/slack/blocks';
import {
  confirmRestoreView,
  needsConfirmation,
  progressMessage,
  requestMessage,
} from '../src/requests/views';
import { refusalFor } from '../src/access/check';
import { oncePerPress, tellPresser, type Click, type ClickHandler } from './click';

/** Answers the person alone; a modal's submission has no response_url, so its caller may log instead. */
type Reply = (message: Exclude<Parameters<RespondFn>[0], string>) => Promise<unknown>;

const refuse = async (respond: Reply, text: string): Promise<void> => {
  await respond({
    response_type: 'ephemeral',
    replace_original: false,
    ...note(md`:no_entry: ${withMentions(text)}`),
  });
};

/** Approve, Deny and Switch back: the buttons of a request's thread. */
export function approvalClicks(deps: CoreDeps): Record<'approve' | 'deny' | 'switch-back', ClickHandler> {
  return {
    approve: (click) => decide(deps, click, 'approve'),
    deny: (click) => decide(deps, click, 'deny'),
    'switch-back': (click) => switchBack(deps, click),
  };
}

/**
 * Approve or Deny. A destructive request (a database restore) is approved only through a
 * modal in which the approver types the environment's name: the click opens it, and its
 * submission (`confirmed`) comes back here.
 */
export async function decide(
  deps: CoreDeps,
  {
    user,
    subject: requestId,
    respond,
    triggerId,
  }: Pick<Click, 'user' | 'subject' | 'triggerId'> & { respond: Reply },
  decision: 'approve' | 'deny',
  confirmed = false,
): Promise<void> {
  const { requests, policy, now } = deps;
  const known = await requests.get(requestId);
  if (!known) return refuse(respond, `request \`${requestId}\` is not known (any more)`);
  const isApprover = await deps.access.isApprover(known.environment, user);
  const at = now();
  if (decision === 'approve' && !confirmed && needsConfirmation(known)) {
    const verdict = checkDecision(policy, known, decision, user, isApprover, at);
    if (!verdict.ok) return refuse(respond, verdict.reason);
    if (!triggerId)
      return refuse(respond, 'this approval needs a confirmation dialog, which Slack did not allow here');
    try {
      await deps.slack.views.open({ trigger_id: triggerId, view: confirmRestoreView(known) });
    } catch (err) {
      deps.logger.warn(
        { request: requestId, err: (err as Error).message },
        'could not open the restore confirmation',
      );
      return refuse(respond, 'Slack did not open the confirmation dialog in time; press Approve again');
    }
    return;
  }
  const result = await requests.update<Verdict>(requestId, (current) => {
    const verdict = checkDecision(policy, current, decision, user, isApprover, at);
    if (!verdict.ok) return { value: verdict };
    const next: OpsRequest =
      decision === 'approve'
        ? { ...current, status: 'approved', approvedBy: { user, at } }
        : { ...current, status: 'denied', deniedBy: { user, at } };
    return { next, value: verdict };
  });
  if (!result) return refuse(respond, `request \`${requestId}\` is not known (any more)`);
  if (!result.value.ok) {
    await deps.audit.record(auditOf(result.request, `${decision}-refused`, user, result.value.reason));
    return refuse(respond, result.value.reason);
  }
  const { request } = result;
  if (decision === 'approve') {
    try {
      await deps.queues.enqueue(executeRequestJob, { requestId }, { jobId: `execute-${requestId}` });
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
}

/** A one-click switch back after a production switch: a new request, through the same approval. */
async function switchBack(deps: CoreDeps, click: Click): Promise<void> {
  const { user, subject: requestId, respond } = click;
  const original = await deps.requests.get(requestId);
  const steps = original ? trafficMoves(original.plan) : [];
  const colour = steps[0]?.from;
  if (!original || !colour) return refuse(respond, 'there is nothing to switch back');
  const refusal = await refusalFor(deps, {
    environment: original.environment,
    capability: 'request',
    user,
    what: `switch back of request ${original.id}`,
  });
  if (refusal) return void (await tellPresser(click, refusal));
  await deps.queues.enqueue(
    planRequestJob,
    {
      command: { verb: 'switch', environment: original.environment, colour },
      services: steps.map((s) => s.service),
      // Each service back to the colour it left, whichever way it went.
      targets: Object.fromEntries(steps.map((s) => [s.service, s.from])),
      requester: user,
      channel: original.channel,
      threadTs: original.messageTs,
      source: 'switch-back',
    },
    // Not a fixed job id: once this switch back is denied or done, it can be asked for again.
    oncePerPress(click),
  );
}
