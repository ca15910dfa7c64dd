import { defineJob } from '../src/deps';
import { endBakeJob } from '../src/requests/contracts';

import { switchBackMessage } from '../src/requests/views';

/** The bake window after a production switch is over: the switch-back button goes away. */
export const endBakeProcessor = defineJob(endBakeJob, async ({ requestId, channel, ts }, ctx) => {
  const request = await ctx.requests.get(requestId);
  if (!request) return { skipped: 'request gone' };
  await ctx.messenger.update(channel, ts, switchBackMessage(request, undefined));
  return { ended: true };
});
