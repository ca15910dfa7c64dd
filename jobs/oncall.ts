import { defineJob } from '../src/deps';
import { oncallJob } from '../src/oncall/contracts';
import { oncallMessage } from '../src/oncall/views';
import { md, note } from '../src/kernel/slack/blocks';

/** `/azora oncall`: asks PagerDuty who is on call and answers the person who asked. */
export const oncallProcessor = defineJob(oncallJob, async ({ responseUrl }, { pagerduty, messenger }) => {
  if (!pagerduty.restEnabled) {
    const text = ':warning: PAGERDUTY_API_TOKEN is not set, so the bot cannot ask PagerDuty who is on call.';
    await messenger.respond(responseUrl, { text, blocks: [] });
    return { skipped: true };
  }
  try {
    const oncall = await pagerduty.oncall();
    await messenger.respond(responseUrl, oncallMessage(oncall));
    return { entries: oncall.length };
  } catch (err) {
    const reason = (err as Error).message;
    await messenger.respond(responseUrl, note(md`:x: could not ask PagerDuty: ${reason}`));
    return { error: reason };
  }
});
