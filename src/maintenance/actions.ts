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
  deps: CoreDeps,
  window: MaintenanceWindow,
  notice: 'scheduled' | 'cancelled' | 'moved' | 'end',
  actor: string,
  detail = window.id,
): Promise<void> {
  const key = `maintenance-${window.id}-${notice}${notice === 'moved' ? `-${window.start}` : ''}`;
  await deps.outbox.put(deps.policy.channels.announcements, key, noticeMessage(window, notice));
  await deps.audit.record({
    type: `maintenance-${notice}`,
    actor,
    environment: window.environment,
    detail,
  });
}

export async function scheduleWindow(deps: CoreDeps, input: NewWindow): Promise<MaintenanceWindow> {
  const window: MaintenanceWindow = {
    id: input.id ?? newWindowId(),
    environment: input.environment,
    start: input.start,
    end: input.start + input.durationMs,
    reason: input.reason,
    requester: input.requester,
    status: 'scheduled',
    recurring: false,
    createdAt: deps.now(),
  };
  if (!(await deps.maintenance.plan(window))) return (await deps.maintenanceWindows.get(window.id)) ?? window;
  await tell(deps, window, 'scheduled', input.requester, `${window.id}: ${window.reason}`);
  return window;
}

/**
 * Ends what a running window put in place: the Alertmanager silence and the PagerDuty
 * maintenance window. At the window's own end (`ended`) PagerDuty's window ends with it,
 * and PagerDuty may refuse to delete a window that has ended: that refusal is logged, and
 * stops nothing (the end is still announced).
 */
export async function liftWindow(
  deps: Deps,
  window: Pick<MaintenanceWindow, 'id' | 'silenceId' | 'pagerdutyWindowId'> | undefined,
  { ended = false }: { ended?: boolean } = {},
): Promise<void> {
  if (window?.silenceId && deps.alertmanager) await deps.alertmanager.expireSilence(window.silenceId);
  if (!window?.pagerdutyWindowId) return;
  const deleted = deps.pagerduty.deleteMaintenanceWindow(window.pagerdutyWindowId);
  if (!ended) return deleted;
  await deleted.catch((err: Error) =>
    deps.logger.info(
      { window: window.id, err: err.message },
      'PagerDuty kept its maintenance window, which ended with ours',
    ),
  );
}

/** Cancels a window that has not ended; undefined when there is none to cancel. */
export async function cancelWindow(
  deps: Deps,
  id: string,
  actor: string,
): Promise<MaintenanceWindow | undefined> {
  const window = await deps.maintenance.cancelWindow(id);
  if (!window) return undefined;
  await liftAndTell(deps, window, 'cancelled', actor);
  return window;
}

/**
 * Lifts what the window put in place and announces its end either way: the window is
 * over for everyone once the store says so. A silence or PagerDuty window that could not
 * be lifted is then said, with when it ends on its own (WindowNotLifted).
 */
async function liftAndTell(
  deps: Deps,
  window: MaintenanceWindow,
  notice: 'cancelled' | 'end',
  actor: string,
): Promise<void> {
  const failed = await liftWindow(deps, window).then(
    () => undefined,
    (err: Error) => err,
  );
  await tell(deps, window, notice, actor);
  if (failed) throw new WindowNotLifted(window, failed.message);
}

/** The window is over, but its silence or PagerDuty maintenance window still holds until its planned end. */
export class WindowNotLifted extends Error {
  constructor(
    readonly window: MaintenanceWindow,
    reason: string,
  ) {
    super(
      `maintenance ${window.id} is over, but what it silenced could not all be lifted (${reason}): ` +
        `alerts stay silenced until ${new Date(window.end).toISOString()} unless someone expires the silence in Alertmanager and ends the window in PagerDuty`,
    );
  }
}

/** Ends a window early because its work is done: silences lifted, "Maintenance over" announced. */
export async function endWindowEarly(
  deps: Deps,
  id: string,
  actor: string,
): Promise<MaintenanceWindow | undefined> {
  const window = await deps.maintenance.endEarly(id);
  if (!window) return undefined;
  await liftAndTell(deps, window, 'end', actor);
  return window;
}

/** Moves a window that has not started; undefined when there is none to move. */
export async function moveWindow(
  deps: CoreDeps,
  id: string,
  start: number,
  durationMs: number,
  actor: string,
): Promise<MaintenanceWindow | undefined> {
  const window = await deps.maintenance.move(id, start, durationMs);
  if (!window) return undefined;
  await tell(deps, window, 'moved', actor);
  return window;
}
