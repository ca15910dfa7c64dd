import { z } from 'zod';
import { newWindowId } from '../src/operations/maintenance';
import { defineJob } from '../src/queue/define';
import { liftWindow } from './maintenance-notice';
import { environmentName, slackUser } from '../src/queue/payloads';
import { noticeMessage, windowListMessage } from '../src/views/maintenance';

/** `/azora maintenance schedule|list|cancel` (and `now` where no approval is due). */
export const maintenanceCommandJob = defineJob({
  queue: 'notify',
  name: 'maintenance-command',
  payload: z.object({
    command: z.discriminatedUnion('action', [
      z.object({
        action: z.literal('schedule'),
        environment: environmentName,
        start: z.number().int(),
        durationMs: z.number().int().positive(),
        reason: z.string().min(1),
      }),
      z.object({ action: z.literal('list') }),
      z.object({ action: z.literal('cancel'), id: z.string() }),
      z.object({
        action: z.literal('move'),
        id: z.string(),
        start: z.number().int(),
        durationMs: z.number().int().positive(),
      }),
    ]),
    requester: slackUser,
    responseUrl: z.url(),
  }),
  options: { attempts: 1 },
  async run({ command, requester, responseUrl }, ctx) {
    const announce = ctx.policy.channels.announcements;
    const say = (text: string) => ctx.messenger.respond(responseUrl, { text, blocks: [] });
    switch (command.action) {
      case 'list':
        await ctx.messenger.respond(
          responseUrl,
          windowListMessage(await ctx.maintenanceWindows.upcoming(ctx.now())),
        );
        return { listed: true };
      case 'cancel': {
        const window = await ctx.maintenance.cancelWindow(command.id);
        if (!window) {
          await say(`:no_entry: no scheduled or running maintenance window \`${command.id}\``);
          return { cancelled: false };
        }
        await liftWindow(ctx, window);
        await ctx.outbox.put(
          announce,
          `maintenance-${window.id}-cancelled`,
          noticeMessage(window, 'cancelled'),
        );
        await ctx.audit.record({
          type: 'maintenance-cancelled',
          actor: requester,
          environment: window.environment,
          detail: window.id,
        });
        await say(`:x: Maintenance \`${window.id}\` cancelled.`);
        return { cancelled: window.id };
      }
      case 'move': {
        const window = await ctx.maintenance.move(command.id, command.start, command.durationMs);
        if (!window) {
          await say(`:no_entry: no maintenance window \`${command.id}\` that has not started yet`);
          return { moved: false };
        }
        await ctx.outbox.put(
          announce,
          `maintenance-${window.id}-moved-${window.start}`,
          noticeMessage(window, 'moved'),
        );
        await ctx.audit.record({
          type: 'maintenance-moved',
          actor: requester,
          environment: window.environment,
          detail: window.id,
        });
        await say(
          `:calendar: Maintenance \`${window.id}\` moved; the change is announced in <#${announce}>.`,
        );
        return { moved: window.id };
      }
      case 'schedule': {
        const window = {
          id: newWindowId(),
          environment: command.environment,
          start: command.start,
          end: command.start + command.durationMs,
          reason: command.reason,
          requester,
          status: 'scheduled' as const,
          recurring: false,
          createdAt: ctx.now(),
        };
        await ctx.maintenance.plan(window);
        await ctx.outbox.put(
          announce,
          `maintenance-${window.id}-scheduled`,
          noticeMessage(window, 'scheduled'),
        );
        await ctx.audit.record({
          type: 'maintenance-scheduled',
          actor: requester,
          environment: window.environment,
          detail: `${window.id}: ${window.reason}`,
        });
        await say(`:calendar: Maintenance \`${window.id}\` scheduled; it is announced in <#${announce}>.`);
        return { scheduled: window.id };
      }
    }
  },
});
