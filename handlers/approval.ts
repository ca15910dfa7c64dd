import type { CoreDeps } from '../src/deps';
import type { OpsRequest } from '../src/requests/domain/types';
import type { Snapshot } from '../src/kernel/versioned';
import { decide, type Decision } from '../src/requests/decide';
import { confirmRestoreView } from '../src/requests/views';
import { md, note, withMentions } from '../src/kernel/slack/blocks';
import { tellPresser, type Click, type ClickHandler } from '../src/web/click';

const refuse = (click: Click, text: string): Promise<unknown> =>
  tellPresser(click, note(md`:no_entry: ${withMentions(text)}`));

/**
 * Approve or Deny on a request's message. A destructive request (a database restore) is
 * approved only through a modal in which the approver types the environment's name: the
 * click opens it, and its submission comes back through handlers/confirm-restore.ts.
 * The request is read while the gate checks the press for a replay.
 */
const decideClick = (deps: CoreDeps, decision: Decision): ClickHandler => ({
  readAhead: (click) => {
    const readAhead = deps.requests.read(click.subject);
    // Awaited by the decision, or dropped with a press the gate refused.
    readAhead.catch(() => undefined);
    return () => decideOn(deps, decision, click, readAhead);
  },
});

async function decideOn(
  deps: CoreDeps,
  decision: Decision,
  click: Click,
  readAhead: Promise<Snapshot<OpsRequest> | undefined>,
): Promise<void> {
  const outcome = await decide(deps, { user: click.user, requestId: click.subject, decision, readAhead });
  if (outcome.kind === 'refused') return void (await refuse(click, outcome.reason));
  if (outcome.kind === 'done') return;
  if (!click.triggerId)
    return void (await refuse(
      click,
      'this approval needs a confirmation dialog, which Slack did not allow here',
    ));
  try {
    await deps.slack.views.open({ trigger_id: click.triggerId, view: confirmRestoreView(outcome.request) });
  } catch (err) {
    deps.logger.warn(
      { request: click.subject, err: (err as Error).message },
      'could not open the restore confirmation',
    );
    await refuse(click, 'Slack did not open the confirmation dialog in time; press Approve again');
  }
}

/** The Approve and Deny buttons of a request's message. */
export const approvalClicks = (deps: CoreDeps): Record<Decision, ClickHandler> => ({
  approve: decideClick(deps, 'approve'),
  deny: decideClick(deps, 'deny'),
});
