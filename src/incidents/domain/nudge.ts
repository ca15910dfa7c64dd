import type { IncidentPolicy } from '../../config/policy';
import { isOpen, type Incident } from './incident';

/**
 * When the commander is next nudged for a status update: the policy's interval for the
 * severity after the last update, and after the last nudge, so that it comes once per
 * interval however often the scheduler looks (and once, not once per missed interval,
 * after the scheduler was down). Undefined when the severity has no interval or the
 * incident is resolved.
 */
export function nextNudgeAt(
  incident: Incident,
  policy: Pick<IncidentPolicy, 'statusNudge'>,
): number | undefined {
  const interval = policy.statusNudge[incident.severity];
  if (interval === undefined || !isOpen(incident)) return undefined;
  const since =
    incident.nudgedAt !== undefined && incident.nudgedAt > incident.lastStatusAt
      ? incident.nudgedAt
      : incident.lastStatusAt;
  return since + interval;
}

/** Whether the commander is to be nudged now; the caller records `nudgedAt: now` when it does. */
export function nudgeDue(
  incident: Incident,
  policy: Pick<IncidentPolicy, 'statusNudge'>,
  now: number,
): boolean {
  const at = nextNudgeAt(incident, policy);
  return at !== undefined && now >= at;
}
