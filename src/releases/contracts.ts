import { z } from 'zod';
import { defineContract } from '../kernel/queue/define';
import { environmentName } from '../kernel/queue/payloads';

/** `/azora releases <env> [service]`: the release history, answered to the person who asked. */
export const releasesJob = defineContract({
  queue: 'ops',
  name: 'releases',
  payload: z.object({ environment: environmentName, service: z.string().optional(), responseUrl: z.url() }),
  options: { attempts: 1 },
});
