import { z } from 'zod';
import { environmentOf } from '../src/domain/topology';
import { defineJob } from '../src/queue/define';
import type { MaintenanceWindow } from '../src/domain/maintenance/window';
import type { JobContext } from '../src/queue/context';
import { noticeMessage } from '../src/views/maintenance';

/**
 * One announcement of a maintenance window, run by BullMQ at its time. Posted once even
 * with several workers or a retry; the start and end also silence the environment's
 * alerts in Alertmanager and lift the silence.
 */
export const maintenanceNoticeJob = defineJob({
  queue: 'notify',
  name: 'maintenance-notice',
  payload: z.object({ windowId: z.string(), notice: z.string() }),
  async run({ windowId, notice }, ctx) {
    const window = await ctx.maintenanceWindows.get(windowId);
    if (!window || window.status === 'cancelled' || window.status === 'done')
      return { skipped: window?.status ?? 'gone' };
    if (notice === 'start') await startSilence(ctx, windowId);
    if (notice === 'end') await endWindow(ctx, windowId);
    if (!(await ctx.maintenanceWindows.claimNotice(windowId, notice))) return { skipped: 'posted already' };
    const current = (await ctx.maintenanceWindows.get(windowId)) ?? window;
    await ctx.outbox.put(
      ctx.policy.channels.announcements,
      `maintenance-${windowId}-${notice}`,
      noticeMessage(current, notice),
    );
    return { posted: notice };
  },
});

async function startSilence(ctx: JobContext, windowId: string): Promise<void> {
  const { window } = await ctx.maintenanceWindows.update(windowId, (w) =>
    w.status === 'scheduled' ? { ...w, status: 'active' } : undefined,
  );
  if (!window || !ctx.alertmanager || !ctx.policy.maintenance.silence || window.silenceId) return;
  const { namespace } = environmentOf(ctx.policy, window.environment);
  const silence = await ctx.alertmanager.createSilence({
    matchers: { namespace },
    durationMs: window.end - ctx.now(),
    createdBy: 'azora-chatops',
    comment: `Maintenance ${window.id}: ${window.reason}`,
  });
  await ctx.maintenanceWindows.update(windowId, (w) => ({ ...w, silenceId: silence.id }));
}

async function endWindow(ctx: JobContext, windowId: string): Promise<void> {
  const { window } = await ctx.maintenanceWindows.update(windowId, (w) => ({ ...w, status: 'done' }));
  await liftWindow(ctx, window);
}

/** Ends what a running window put in place: the Alertmanager silence and the PagerDuty maintenance window. */
export async function liftWindow(ctx: JobContext, window: MaintenanceWindow | undefined): Promise<void> {
  if (window?.silenceId && ctx.alertmanager) await ctx.alertmanager.expireSilence(window.silenceId);
  if (window?.pagerdutyWindowId) await ctx.pagerduty.deleteMaintenanceWindow(window.pagerdutyWindowId);
}
