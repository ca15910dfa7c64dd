import type { CoreDeps } from '../src/deps';
import { maintenanceCommandJob } from '../src/maintenance/contracts';
import { note } from '../src/kernel/slack/blocks';
import { refusalFor } from '../src/access/check';
import { oncePerPress, tellPresser, type Click } from '../src/web/click';

/**
 * "Close the maintenance window" after a failed restore: the same as typing
 * `/azora maintenance cancel <id>`, with its access check and, in production, its approval.
 */
export async function closeWindowClick(deps: CoreDeps, click: Click): Promise<void> {
  if (!/^m[0-9a-z-]+$/.test(click.subject) || !click.channel || !click.responseUrl) {
    await tellPresser(click, note(':no_entry: this button does not name a window the bot can close'));
    return;
  }
  // Checked here, as every button is, before the press takes its once-per-press slot: a
  // refused press must not swallow an allowed one a moment later. The job checks again.
  const window = await deps.maintenanceWindows.get(click.subject);
  if (window) {
    const refusal = await refusalFor(deps, {
      environment: window.environment,
      capability: 'request',
      user: click.user,
      channel: click.channel,
      what: `maintenance cancel ${window.id}`,
    });
    if (refusal) return void (await tellPresser(click, refusal));
  }
  await deps.queues.enqueue(
    maintenanceCommandJob,
    {
      command: { action: 'cancel', id: click.subject },
      requester: click.user,
      channel: click.channel,
      responseUrl: click.responseUrl,
    },
    oncePerPress(click),
  );
}
