import { z } from 'zod';
import { defineJob } from '../src/kernel/queue/define';
import { requestRef } from '../src/kernel/queue/payloads';
import { switchBackMessage } from '../src/requests/views';

/** The bake window after a production switch is over: the switch-back button goes away. */
export const endBakeJob = defineJob({
  queue: 'ops',
  name: 'end-bake',
  payload: requestRef.extend({ channel: z.string(), ts: z.string() }),
  async run({ requestId, channel, ts }, ctx) {
    const request = await ctx.requests.get(requestId);
    if (!request) return { skipped: 'request gone' };
    await ctx.messenger.update(channel, ts, switchBackMessage(request, undefined));
    return { ended: true };
  },
});
