import type { App } from '@slack/bolt';
import type { CoreDeps } from '../src/deps';
import { isOpen } from '../src/incidents/domain/incident';
import { pinEntryJob, pinJobId } from '../src/incidents/pin-contract';
import { pinOf } from '../src/incidents/pins';

/** What became of a reaction_added event; counted as azora_slack_requests_total{kind="event:reaction_added"}. */
export type ReactionOutcome = 'queued' | 'ignored' | 'replay' | 'failed';

/**
 * reaction_added, over HTTP and Socket Mode alike. Bolt acknowledges an Events API event
 * before any listener runs, so nothing here holds up Slack's 200. A :pushpin: on a message
 * in an open incident's channel queues a job that adds the message to the timeline; any
 * other reaction, channel or a resolved incident changes nothing. Slack delivers an event
 * again when an ack was late: the event id is a replay then (the gate, in Redis for every
 * web process), and the entry's key would make a second one change nothing anyway.
 */
export function registerReactions(app: App, deps: CoreDeps): void {
  app.event('reaction_added', async ({ body }) => {
    const outcome = await onReaction(deps, body).catch((err: unknown) => {
      deps.logger.error({ err: (err as Error).message }, 'could not queue a pin');
      return 'failed' as const;
    });
    deps.metrics.slackRequests.inc({ kind: 'event:reaction_added', outcome });
  });
}

async function onReaction(deps: CoreDeps, body: unknown): Promise<ReactionOutcome> {
  const pin = pinOf(body);
  if (!pin) return 'ignored';
  const incident = await deps.incidents.ofChannel(pin.channel);
  if (!incident || !isOpen(incident)) return 'ignored';
  const gate = await deps.gate.admit(`event:${pin.eventId}`, pin.user, []);
  if (!gate.ok) {
    deps.metrics.replays.inc({ kind: 'event' });
    return 'replay';
  }
  await deps.queues.enqueue(pinEntryJob, pin, { jobId: pinJobId(pin.eventId) });
  return 'queued';
}
