import { needsApproval } from '../src/requests/domain/guards';
import { refusalFor } from '../src/access/check';
import { cancelWindow, moveWindow, scheduleWindow } from '../src/maintenance/actions';
import { defineJob } from '../src/deps';
import { maintenanceCommandJob } from '../src/maintenance/contracts';
import { planRequestJob } from '../src/requests/contracts';

import { channelRef, code, md, note } from '../src/kernel/slack/blocks';
import { Refusal } from '../src/kernel/domain/refusal';
import { windowListMessage } from '../src/maintenance/views';

/**
 * `/azora maintenance schedule|list|move|cancel` (and `now` where no approval is due). A
 * move or cancel of a window in an environment that requires approval becomes a request.
 */
export const maintenanceCommandProcessor = defineJob(
  maintenanceCommandJob,
  async ({ command, requester, channel, responseUrl }, ctx) => {
    const announced = channelRef(ctx.policy.channels.announcements);
    const say = (text: Parameters<typeof note>[0]) => ctx.messenger.respond(responseUrl, note(text));
    if (command.action === 'list') {
      await ctx.messenger.respond(
        responseUrl,
        windowListMessage(await ctx.maintenanceWindows.upcoming(ctx.now())),
      );
      return { listed: true };
    }
    if (command.action === 'schedule') {
      // A refusal (the store's cap on windows to come) is the person's to read, not a retry.
      const window = await scheduleWindow(ctx, { ...command, requester }).catch((err: unknown) => {
        if (err instanceof Refusal) return err;
        throw err;
      });
      if (window instanceof Refusal) {
        await say(md`:no_entry: ${window.reason}`);
        return { refused: window.reason };
      }
      await say(md`:calendar: Maintenance ${code(window.id)} scheduled; it is announced in ${announced}.`);
      return { scheduled: window.id };
    }
    const known = await ctx.maintenanceWindows.get(command.id);
    if (!known) {
      await say(md`:no_entry: no maintenance window ${code(command.id)}`);
      return { [command.action]: false };
    }
    const refusal = await refusalFor(ctx, {
      environment: known.environment,
      capability: 'request',
      user: requester,
      channel,
      what: `maintenance ${command.action} ${known.id}`,
    });
    if (refusal) {
      await ctx.messenger.respond(responseUrl, refusal);
      return { refused: true };
    }
    if (needsApproval(ctx.policy, known.environment)) {
      const { action } = command;
      const times = action === 'move' ? { start: command.start, durationMs: command.durationMs } : undefined;
      await ctx.queues.enqueue(
        planRequestJob,
        {
          command: {
            verb: 'maintenance',
            action,
            environment: known.environment,
            windowId: known.id,
            durationMs: times?.durationMs ?? known.end - known.start,
            reason: known.reason,
            ...(times ? { start: times.start } : {}),
          },
          requester,
          channel,
          responseUrl,
          source: 'command',
        },
        { jobId: `plan-${ctx.job.id}` },
      );
      await say(
        md`:hourglass: A ${action} of a ${known.environment} window needs an approver; posting the request…`,
      );
      return { requested: action };
    }
    if (command.action === 'cancel') {
      const window = await cancelWindow(ctx, command.id, requester);
      await say(
        window
          ? md`:x: Maintenance ${code(command.id)} cancelled.`
          : md`:no_entry: maintenance ${code(command.id)} has ended or was cancelled`,
      );
      return { cancelled: window?.id ?? false };
    }
    const window = await moveWindow(ctx, command.id, command.start, command.durationMs, requester);
    await say(
      window
        ? md`:calendar: Maintenance ${code(window.id)} moved; the change is announced in ${announced}.`
        : md`:no_entry: no maintenance window ${code(command.id)} that has not started yet`,
    );
    return { moved: window?.id ?? false };
  },
);
