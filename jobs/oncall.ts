import { z } from 'zod';
import { defineJob } from '../src/kernel/queue/define';
import { oncallMessage } from '../src/oncall/views';

/** `/azora oncall`: asks PagerDuty who is on call and answers the person who asked. */
export const oncallJob = defineJob({
  queue: 'notify',
  name: 'oncall',
  payload: z.object({ responseUrl: z.url() }),
  options: { attempts: 1 },
  async run({ responseUrl }, { pagerduty, messenger }) {
    if (!pagerduty.restEnabled) {
      const text =
        ':warning: PAGERDUTY_API_TOKEN is not set, so the bot cannot ask PagerDuty who is on call.';
      await messenger.respond(responseUrl, { text, blocks: [] });
      return { skipped: true };
    }
    try {
      const oncall = await pagerduty.oncall();
      await messenger.respond(responseUrl, oncallMessage(oncall));
      return { entries: oncall.length };
    } catch (err) {
      const text = `:x: could not ask PagerDuty: ${(err as Error).message}`;
      await messenger.respond(responseUrl, { text, blocks: [] });
      return { error: text };
    }
  },
});
