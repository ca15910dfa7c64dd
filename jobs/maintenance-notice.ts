import { environmentOf } from '../src/kernel/domain/topology';
import { defineJob } from '../src/deps';
import { maintenanceNoticeJob } from '../src/maintenance/contracts';
import { liftWindow } from '../src/maintenance/actions';
import type { JobContext } from '../src/deps';
import type { MaintenanceWindow } from '../src/maintenance/domain/window';
import { noticeMessage } from '../src/maintenance/views';

/**
 * One announcement of a maintenance window, run by BullMQ at its time. Posted once even
 * with several workers or a retry; the start also silences the environment in
 * Alertmanager and PagerDuty, and the end lifts both.
 */
export const maintenanceNoticeProcessor = defineJob(
  maintenanceNoticeJob,
  async ({ windowId, notice }, ctx) => {
    const window = await ctx.maintenanceWindows.get(windowId);
    // A retried end finds the window done by its own first attempt, and still announces it.
    const retriedEnd = notice === 'end' && ctx.job.attemptsMade > 0;
    if (!window || window.status === 'cancelled' || (window.status === 'done' && !retriedEnd))
      return { skipped: window?.status ?? 'gone' };
    // A window cancelled or ended while it started is not announced as started.
    if (notice === 'start' && !(await startWindow(ctx, windowId))) return { skipped: 'not running' };
    if (notice === 'end') await endWindow(ctx, windowId);
    // Once per timing of the window: a window moved after a notice went out announces the
    // new time again, in a message of its own.
    const once = `${notice}-${window.start}`;
    if (!(await ctx.maintenanceWindows.claimNotice(windowId, once))) return { skipped: 'posted already' };
    const current = (await ctx.maintenanceWindows.get(windowId)) ?? window;
    await ctx.outbox.put(
      ctx.policy.channels.announcements,
      `maintenance-${windowId}-${once}`,
      noticeMessage(current, notice),
    );
    return { posted: notice };
  },
);

/**
 * What a running window puts in place, each remembered on the window as soon as it exists
 * (so a retried start adds neither twice): the environment's alerts silenced in
 * Alertmanager, and a PagerDuty maintenance window on the policy's PagerDuty services.
 * The window turns active only once they exist (a restore waits for that to start its
 * Job); a window cancelled or ended meanwhile has what was just made lifted at once.
 * Whether the window is running now.
 */
async function startWindow(ctx: JobContext, windowId: string): Promise<boolean> {
  let window = await ctx.maintenanceWindows.get(windowId);
  if (!window || !running(window)) return false;
  const { maintenance } = ctx.policy;
  const comment = `Maintenance ${window.id}: ${window.reason}`;
  if (ctx.alertmanager && maintenance.silence && !window.silenceId) {
    const { namespace } = environmentOf(ctx.policy, window.environment);
    const silence = await ctx.alertmanager.createSilence({
      matchers: { namespace },
      durationMs: window.end - ctx.now(),
      createdBy: 'azora-chatops',
      comment,
    });
    window = await keep(ctx, windowId, { silenceId: silence.id });
    if (!window) return false;
  }
  if (ctx.pagerduty.restEnabled && maintenance.pagerdutyServices.length > 0 && !window.pagerdutyWindowId) {
    const id = await ctx.pagerduty.createMaintenanceWindow({
      start: ctx.now(),
      end: window.end,
      description: comment,
      serviceIds: maintenance.pagerdutyServices,
    });
    window = await keep(ctx, windowId, { pagerdutyWindowId: id });
    if (!window) return false;
  }
  const started = await ctx.maintenanceWindows.update(windowId, (w) =>
    w.status === 'scheduled' ? { ...w, status: 'active' } : undefined,
  );
  // Once, as the window turns active (not again on a retry): alert graphs mark the start of maintenance.
  if (started.changed && started.window)
    await ctx.audit.record({
      type: 'maintenance-start',
      actor: 'azora',
      environment: started.window.environment,
      detail: started.window.id,
    });
  return started.window?.status === 'active';
}

const running = (w: MaintenanceWindow) => w.status === 'scheduled' || w.status === 'active';

/** Keeps what the start made on a window still to run; lifts it when the window ended meanwhile. */
async function keep(
  ctx: JobContext,
  windowId: string,
  made: Pick<MaintenanceWindow, 'silenceId' | 'pagerdutyWindowId'>,
): Promise<MaintenanceWindow | undefined> {
  const { window } = await ctx.maintenanceWindows.update(windowId, (w) =>
    running(w) ? { ...w, ...made } : undefined,
  );
  if (window && running(window)) return window;
  await liftWindow(ctx, { id: windowId, ...made }, { ended: true });
  return undefined;
}

async function endWindow(ctx: JobContext, windowId: string): Promise<void> {
  const { window } = await ctx.maintenanceWindows.update(windowId, (w) => ({ ...w, status: 'done' }));
  await liftWindow(ctx, window, { ended: true });
}
