import { z } from 'zod';
import { defineContract } from '../kernel/queue/define';

/** `/azora oncall`: asks PagerDuty who is on call and answers the person who asked. */
export const oncallJob = defineContract({
  queue: 'notify',
  name: 'oncall',
  payload: z.object({ responseUrl: z.url() }),
  options: { attempts: 1 },
});
