import { z } from 'zod';
import { defineJob } from '../src/kernel/queue/define';

export const RECURRING_SCHEDULER_ID = 'maintenance-recurring';

/** Run daily by a BullMQ job scheduler: keeps the policy's monthly window planned ahead. */
export const maintenanceRecurringJob = defineJob({
  queue: 'notify',
  name: 'maintenance-recurring',
  payload: z.object({}),
  async run(_payload, ctx) {
    return { planned: await ctx.maintenance.planRecurring() };
  },
});
