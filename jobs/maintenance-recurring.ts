import { defineJob } from '../src/deps';
import { maintenanceRecurringJob } from '../src/maintenance/contracts';
/** Run daily by a BullMQ job scheduler: keeps the policy's monthly window planned ahead. */
export const maintenanceRecurringProcessor = defineJob(maintenanceRecurringJob, async (_payload, ctx) => {
  return { planned: await ctx.maintenance.planRecurring() };
});
