import { defineJob } from '../src/deps';
import { fitForSlack } from '../src/kernel/slack/blocks';
import { postMessageJob } from '../src/kernel/slack/contracts';

/** Posts a message in Slack on behalf of any other part of the bot, cut to what Slack takes. */
export const postMessageProcessor = defineJob(
  postMessageJob,
  async ({ channel, text, blocks, threadTs }, { slack }) => {
    const fitted = fitForSlack({ text, blocks: blocks ?? [] });
    const result = await slack.chat.postMessage({
      channel,
      text: fitted.text,
      ...(blocks ? { blocks: fitted.blocks } : {}),
      ...(threadTs ? { thread_ts: threadTs } : {}),
    });
    return { ts: result.ts };
  },
);
