import { defineJob } from '../src/deps';
import { maintenanceCommandJob } from '../src/maintenance/contracts';
import { runMaintenanceCommand } from '../src/maintenance/command';

/** `/azora maintenance …`: in the maintenance use case; a production move or cancel becomes a request. */
export const maintenanceCommandProcessor = defineJob(maintenanceCommandJob, (payload, ctx) =>
  runMaintenanceCommand(ctx, payload, ctx.job.id),
);
