import type { CoreDeps } from '../deps';
import { md, mention, note } from '../kernel/slack/blocks';
import { formatDuration } from '../kernel/domain/duration';
import { incidentNudgeJob } from './contracts';
import type { Incident } from './domain/incident';
import { nextNudgeAt, nudgeDue } from './domain/nudge';
import { channelArchived } from './run';

/** Queues the next look for the incident's nudge (one job per due time: queued twice, it is one). */
export async function scheduleNudge(
  deps: Pick<CoreDeps, 'queues' | 'policy' | 'now'>,
  incident: Incident,
): Promise<void> {
  const at = nextNudgeAt(incident, deps.policy.incidents);
  if (at === undefined) return;
  await deps.queues.enqueue(
    incidentNudgeJob,
    { incidentId: incident.id },
    { jobId: `nudge-${incident.id}-${at}`, delay: Math.max(0, at - deps.now()) },
  );
}

/**
 * A sev1 with no status update for the policy's interval: the commander is nudged in the
 * channel, once per interval, and the next look is queued. An update meanwhile moved the
 * due time on: this look then finds nothing due and queues the one that is.
 */
export async function nudgeIfDue(
  deps: Pick<CoreDeps, 'incidents' | 'outbox' | 'queues' | 'policy' | 'now' | 'slack'>,
  incidentId: string,
): Promise<boolean> {
  const now = deps.now();
  const result = await deps.incidents.change<boolean>(incidentId, (current) =>
    nudgeDue(current, deps.policy.incidents, now)
      ? { next: { ...current, nudgedAt: now }, verdict: true }
      : { verdict: false },
  );
  if (!result?.incident) return false;
  const incident = result.incident;
  // An incident left unresolved with its channel archived has nobody there to nudge: no
  // more looks (Slack refused each nudge, every half hour, for as long as it was kept). A
  // Slack that does not answer now is no reason to stop.
  if (result.verdict && (await channelArchived(deps, incident.channel).catch(() => false))) return false;
  if (result.verdict) {
    const interval = deps.policy.incidents.statusNudge[incident.severity] ?? 0;
    const nudge = note(
      md`:bell: ${mention(incident.commander)}, no status update for ${formatDuration(interval)}: where are we? \`/azora incident status investigating|identified|monitoring\` (the same status again is an update too).`,
    );
    // Through the outbox, keyed by this nudge: marked as made above, it must not be lost
    // to a Slack that fails right now (the outbox retries it), nor said twice.
    await deps.outbox.put(incident.channel, `nudge-${incident.id}-${now}`, nudge);
  }
  await scheduleNudge(deps, incident);
  return result.verdict;
}
