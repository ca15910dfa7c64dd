import type { CoreDeps } from '../src/deps';
import { planRequestJob } from '../src/requests/contracts';
import { trafficMoves } from '../src/requests/domain/traffic';
import { note } from '../src/kernel/slack/blocks';
import { refusalFor } from '../src/access/check';
import { oncePerPress, tellPresser, type Click } from '../src/web/click';

/** A one-click switch back after a production switch: a new request, through the same approval. */
export async function switchBackClick(deps: CoreDeps, click: Click): Promise<void> {
  const { user, subject: requestId } = click;
  const original = await deps.requests.get(requestId);
  const steps = original ? trafficMoves(original.plan) : [];
  const colour = steps[0]?.from;
  if (!original || !colour)
    return void (await tellPresser(click, note(':no_entry: there is nothing to switch back')));
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
