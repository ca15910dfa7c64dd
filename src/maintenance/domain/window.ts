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

export function noticesFor(window: MaintenanceWindow, leadTimes: readonly number[], now: number): Notice[] {
  const ahead = [...leadTimes]
    .sort((a, b) => b - a)
    .map((lead) => ({ name: `before-${lead}`, at: window.start - lead }));
  return [...ahead, { name: 'start', at: window.start }, { name: 'end', at: window.end }].filter(
    (n) => n.at > now,
  );
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
