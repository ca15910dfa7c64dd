import { defineJob } from '../src/deps';
import { postMessageJob } from '../src/kernel/slack/contracts';

/** Posts or edits a message in Slack on behalf of any other part of the bot. */
export const postMessageProcessor = defineJob(
  postMessageJob,
  async ({ channel, text, blocks, threadTs }, { slack }) => {
    const result = await slack.chat.postMessage({
      channel,
      text,
      ...(blocks ? { blocks } : {}),
      ...(threadTs ? { thread_ts: threadTs } : {}),
    });
    return { ts: result.ts };
  },
);
