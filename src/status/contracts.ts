import { environmentName } from '../kernel/queue/payloads';
import { z } from 'zod';
import { defineContract } from '../kernel/queue/define';

/** `/azora status <env>`: reads the cluster and the request store, answers the person who asked. */
export const statusJob = defineContract({
  queue: 'ops',
  name: 'status',
  payload: z.object({ environment: environmentName, responseUrl: z.url() }),
  options: { attempts: 1 },
});
