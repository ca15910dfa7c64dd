import type { MaintenanceWindow } from './domain/window';
import type { CoreDeps, Deps } from '../deps';
import { noticeMessage } from './views';
import { newWindowId } from './scheduler';

/**
 * What a maintenance command does once it is allowed (at once, or after an approval):
 * each action changes the window, announces it and leaves an audit event, in one place
 * for the command job and the request executor alike.
 */

export interface NewWindow {
  /** Fixed by an approved request, so a retried execution finds the window it made. */
  id?: string;
  environment: MaintenanceWindow['environment'];
  start: number;
  durationMs: number;
  reason: string;
  requester: string;
}

/** Announces what happened to the window and leaves its audit event. */
async function tell(
  services: CoreDeps,
  window: MaintenanceWindow,
  notice: 'scheduled' | 'cancelled' | 'moved',
  actor: string,
  detail = window.id,
): Promise<void> {
  const key = `maintenance-${window.id}-${notice}${notice === 'moved' ? `-${window.start}` : ''}`;
  await services.outbox.put(services.policy.channels.announcements, key, noticeMessage(window, notice));
  await services.audit.record({
    type: `maintenance-${notice}`,
    actor,
    environment: window.environment,
    detail,
  });
}

export async function scheduleWindow(services: CoreDeps, input: NewWindow): Promise<MaintenanceWindow> {
  const window: MaintenanceWindow = {
    id: input.id ?? newWindowId(),
    environment: input.environment,
    start: input.start,
    end: input.start + input.durationMs,
    reason: input.reason,
    requester: input.requester,
    status: 'scheduled',
    recurring: false,
    createdAt: services.now(),
  };
  if (!(await services.maintenance.plan(window)))
    return (await services.maintenanceWindows.get(window.id)) ?? window;
  await tell(services, window, 'scheduled', input.requester, `${window.id}: ${window.reason}`);
  return window;
}

/** Ends what a running window put in place: the Alertmanager silence and the PagerDuty maintenance window. */
export async function liftWindow(services: Deps, window: MaintenanceWindow | undefined): Promise<void> {
  if (window?.silenceId && services.alertmanager) await services.alertmanager.expireSilence(window.silenceId);
  if (window?.pagerdutyWindowId) await services.pagerduty.deleteMaintenanceWindow(window.pagerdutyWindowId);
}

/** Cancels a window that has not ended; undefined when there is none to cancel. */
export async function cancelWindow(
  services: Deps,
  id: string,
  actor: string,
): Promise<MaintenanceWindow | undefined> {
  const window = await services.maintenance.cancelWindow(id);
  if (!window) return undefined;
  await liftWindow(services, window);
  await tell(services, window, 'cancelled', actor);
  return window;
}

/** Moves a window that has not started; undefined when there is none to move. */
export async function moveWindow(
  services: CoreDeps,
  id: string,
  start: number,
  durationMs: number,
  actor: string,
): Promise<MaintenanceWindow | undefined> {
  const window = await services.maintenance.move(id, start, durationMs);
  if (!window) return undefined;
  await tell(services, window, 'moved', actor);
  return window;
}
