import { environmentOf } from '../src/kernel/domain/topology';
import { defineJob } from '../src/deps';
import { maintenanceNoticeJob } from '../src/maintenance/contracts';
import { liftWindow } from '../src/maintenance/actions';
import type { JobContext } from '../src/deps';
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
    if (notice === 'start') await startWindow(ctx, windowId);
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
 */
async function startWindow(ctx: JobContext, windowId: string): Promise<void> {
  const { window, changed } = await ctx.maintenanceWindows.update(windowId, (w) =>
    w.status === 'scheduled' ? { ...w, status: 'active' } : undefined,
  );
  if (!window) return;
  // Once, as the window turns active (not again on a retry): alert graphs mark the start of maintenance.
  if (changed)
    await ctx.audit.record({
      type: 'maintenance-start',
      actor: 'azora',
      environment: window.environment,
      detail: window.id,
    });
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
    await ctx.maintenanceWindows.update(windowId, (w) => ({ ...w, silenceId: silence.id }));
  }
  if (ctx.pagerduty.restEnabled && maintenance.pagerdutyServices.length > 0 && !window.pagerdutyWindowId) {
    const id = await ctx.pagerduty.createMaintenanceWindow({
      start: ctx.now(),
      end: window.end,
      description: comment,
      serviceIds: maintenance.pagerdutyServices,
    });
    await ctx.maintenanceWindows.update(windowId, (w) => ({ ...w, pagerdutyWindowId: id }));
  }
}

async function endWindow(ctx: JobContext, windowId: string): Promise<void> {
  const { window } = await ctx.maintenanceWindows.update(windowId, (w) => ({ ...w, status: 'done' }));
  await liftWindow(ctx, window, { ended: true });
}
