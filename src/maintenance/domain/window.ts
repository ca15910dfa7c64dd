import type { EnvironmentName } from '../../commands/domain/types';

export type WindowStatus = 'scheduled' | 'active' | 'done' | 'cancelled';

export interface MaintenanceWindow {
  id: string;
  environment: EnvironmentName;
  start: number;
  end: number;
  reason: string;
  requester: string;
  status: WindowStatus;
  recurring: boolean;
  createdAt: number;
  /** The Alertmanager silence that keeps alerts quiet during the window. */
  silenceId?: string;
  /** The PagerDuty maintenance window opened for it. */
  pagerdutyWindowId?: string;
}

/** An announcement: ahead of the window (by the policy's lead times), at its start, at its end. */
export interface Notice {
  name: string;
  at: number;
}

/**
 * The announcements still to come at `now`. The start stays while the window has not
 * ended, due at once when its time has passed: a window planned a moment late (its job
 * waited behind others) still silences its environment and says it started.
 */
export function noticesFor(window: MaintenanceWindow, leadTimes: readonly number[], now: number): Notice[] {
  const ahead = [...leadTimes]
    .sort((a, b) => b - a)
    .map((lead) => ({ name: `before-${lead}`, at: window.start - lead }))
    .filter((n) => n.at > now);
  if (window.end <= now) return ahead;
  return [...ahead, { name: 'start', at: Math.max(window.start, now) }, { name: 'end', at: window.end }];
}

/** The other live windows of the same environment whose time overlaps `window`'s. */
export function overlapping(
  window: MaintenanceWindow,
  others: readonly MaintenanceWindow[],
): MaintenanceWindow[] {
  return others.filter(
    (o) =>
      o.id !== window.id &&
      o.environment === window.environment &&
      (o.status === 'scheduled' || o.status === 'active') &&
      o.start < window.end &&
      window.start < o.end,
  );
}
