import { environmentName, slackChannel, slackUser } from '../kernel/queue/payloads';
import { z } from 'zod';
import { defineContract } from '../kernel/queue/define';

/**
 * `/azora maintenance schedule|list|move|cancel` (and `now` where no approval is due). A
 * move or cancel of a window in an environment that requires approval becomes a request.
 */
export const maintenanceCommandJob = defineContract({
  queue: 'notify',
  name: 'maintenance-command',
  payload: z.object({
    command: z.discriminatedUnion('action', [
      z.object({
        action: z.literal('schedule'),
        environment: environmentName,
        start: z.number().int(),
        durationMs: z.number().int().positive(),
        reason: z.string().min(1).max(500),
      }),
      z.object({ action: z.literal('list') }),
      z.object({ action: z.literal('cancel'), id: z.string().max(64) }),
      z.object({
        action: z.literal('move'),
        id: z.string().max(64),
        start: z.number().int(),
        durationMs: z.number().int().positive(),
      }),
    ]),
    requester: slackUser,
    channel: slackChannel,
    responseUrl: z.url(),
  }),
  options: { attempts: 1 },
});

/**
 * One announcement of a maintenance window, run by BullMQ at its time. Posted once even
 * with several workers or a retry; the start also silences the environment in
 * Alertmanager and PagerDuty, and the end lifts both.
 */
export const maintenanceNoticeJob = defineContract({
  queue: 'notify',
  name: 'maintenance-notice',
  payload: z.object({ windowId: z.string(), notice: z.string() }),
});

/** Run daily by a BullMQ job scheduler: keeps the policy's monthly window planned ahead. */
/** The BullMQ job scheduler every worker upserts for the recurring window. */
export const RECURRING_SCHEDULER_ID = 'maintenance-recurring';

export const maintenanceRecurringJob = defineContract({
  queue: 'notify',
  name: 'maintenance-recurring',
  payload: z.object({}),
});
