import type { App, ViewSubmitAction } from '@slack/bolt';
import type { CoreDeps } from '../src/deps';
import { checkDecision } from '../src/requests/domain/guards';
import { CONFIRM_RESTORE } from '../src/requests/views';
import { decide, refused } from '../src/requests/decide';

/**
 * The restore confirmation modal: the typed name must be the request's environment, and
 * the approval must still be allowed; otherwise the modal stays open and says why.
 */
export function registerViews(app: App, deps: CoreDeps): void {
  app.view<ViewSubmitAction>(CONFIRM_RESTORE, async ({ ack, view, body }) => {
    const user = body.user.id;
    const requestId = view.private_metadata;
    const typed = view.state.values['confirm']?.['typed']?.value?.trim() ?? '';
    const request = /^r[0-9a-f]{8}$/.test(requestId) ? await deps.requests.get(requestId) : undefined;
    if (!request) {
      await ack({ response_action: 'errors', errors: { confirm: 'this request is not known (any more)' } });
      return;
    }
    if (typed !== request.environment) {
      await ack({ response_action: 'errors', errors: { confirm: `type ${request.environment} to approve` } });
      return;
    }
    const isApprover = await deps.access.isApprover(request.environment, user);
    const verdict = checkDecision(deps.policy, request, 'approve', user, isApprover, deps.now());
    if (!verdict.ok) {
      await ack({ response_action: 'errors', errors: { confirm: verdict.reason.slice(0, 150) } });
      await refused(deps, request, 'approve', user, verdict.reason);
      return;
    }
    await ack();
    await deps.audit.record({
      type: 'restore-confirmed',
      request: request.id,
      actor: user,
      environment: request.environment,
      detail: `typed ${typed}`,
    });
    const outcome = await decide(deps, { user, requestId, decision: 'approve', confirmed: true });
    // A refusal after the modal closed (another approver was faster) goes to the log: the thread shows who approved.
    if (outcome.kind === 'refused')
      deps.logger.info(
        { request: requestId, user, reason: outcome.reason },
        'restore confirmation not applied',
      );
  });
}
