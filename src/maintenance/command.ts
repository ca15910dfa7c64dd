import type { z } from 'zod';
import { refusalFor } from '../access';
import type { Deps } from '../deps';
import { Refusal } from '../kernel/domain/refusal';
import { channelRef, code, joinText, md, note } from '../kernel/slack/blocks';
import { planRequestJob } from '../requests/contracts';
import { needsApproval } from '../requests/domain/guards';
import { cancelWindow, moveWindow, scheduleWindow } from './actions';
import type { maintenanceCommandJob } from './contracts';
import { windowListMessage } from './views';
import { overlapping } from './domain/window';

type MaintenanceCommand = z.output<typeof maintenanceCommandJob.payload>;

/**
 * `/azora maintenance schedule|list|move|cancel` (and `now` where no approval is due). A
 * move or cancel of a window in an environment that requires approval becomes a request.
 */
export async function runMaintenanceCommand(
  deps: Deps,
  { command, requester, channel, responseUrl }: MaintenanceCommand,
  jobId: string,
): Promise<unknown> {
  const announced = channelRef(deps.policy.channels.announcements);
  const say = (text: Parameters<typeof note>[0]) => deps.messenger.respond(responseUrl, note(text));
  if (command.action === 'list') {
    await deps.messenger.respond(
      responseUrl,
      windowListMessage(await deps.maintenanceWindows.upcoming(deps.now())),
    );
    return { listed: true };
  }
  if (command.action === 'schedule') {
    // A refusal (the store's cap on windows to come) is the person's to read, not a retry.
    const window = await scheduleWindow(deps, { ...command, requester }).catch((err: unknown) => {
      if (err instanceof Refusal) return err;
      throw err;
    });
    if (window instanceof Refusal) {
      await say(md`:no_entry: ${window.reason}`);
      return { refused: window.reason };
    }
    // Taken all the same (an emergency inside the monthly window is real), but said: each
    // window announces, silences and opens a PagerDuty window of its own.
    const overlaps = overlapping(window, await deps.maintenanceWindows.upcoming(deps.now()));
    const also = overlaps.length
      ? md` :warning: It overlaps ${joinText(
          overlaps.map((o) => code(o.id)),
          ', ',
        )} in ${window.environment}; each is announced on its own, so cancel one if they are the same work.`
      : '';
    await say(
      md`:calendar: Maintenance ${code(window.id)} scheduled; it is announced in ${announced}.${also}`,
    );
    return { scheduled: window.id, ...(overlaps.length ? { overlaps: overlaps.map((o) => o.id) } : {}) };
  }
  const known = await deps.maintenanceWindows.get(command.id);
  if (!known) {
    await say(md`:no_entry: no maintenance window ${code(command.id)}`);
    return { [command.action]: false };
  }
  const refusal = await refusalFor(deps, {
    environment: known.environment,
    capability: 'request',
    user: requester,
    channel,
    what: `maintenance ${command.action} ${known.id}`,
  });
  if (refusal) {
    await deps.messenger.respond(responseUrl, refusal);
    return { refused: true };
  }
  if (needsApproval(deps.policy, known.environment)) {
    const { action } = command;
    const times = action === 'move' ? { start: command.start, durationMs: command.durationMs } : undefined;
    await deps.queues.enqueue(
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
      { jobId: `plan-${jobId}` },
    );
    await say(
      md`:hourglass: A ${action} of a ${known.environment} window needs an approver; posting the request…`,
    );
    return { requested: action };
  }
  if (command.action === 'cancel') {
    const window = await cancelWindow(deps, command.id, requester);
    await say(
      window
        ? md`:x: Maintenance ${code(command.id)} cancelled.`
        : md`:no_entry: maintenance ${code(command.id)} has ended or was cancelled`,
    );
    return { cancelled: window?.id ?? false };
  }
  const window = await moveWindow(deps, command.id, command.start, command.durationMs, requester);
  await say(
    window
      ? md`:calendar: Maintenance ${code(window.id)} moved; the change is announced in ${announced}.`
      : md`:no_entry: no maintenance window ${code(command.id)} that has not started yet`,
  );
  return { moved: window?.id ?? false };
}
