import type { KnownBlock } from '@slack/types';
import { z } from 'zod';
import { defineJob } from '../src/kernel/queue/define';

/** Posts or edits a message in Slack on behalf of any other part of the bot. */
export const postMessageJob = defineJob({
  queue: 'notify',
  name: 'post-message',
  payload: z.object({
    channel: z.string().min(1),
    text: z.string(),
    blocks: z
      .array(z.custom<KnownBlock>((b) => typeof b === 'object' && b !== null && 'type' in b))
      .optional(),
    threadTs: z.string().optional(),
  }),
  async run({ channel, text, blocks, threadTs }, { slack }) {
    const result = await slack.chat.postMessage({
      channel,
      text,
      ...(blocks ? { blocks } : {}),
      ...(threadTs ? { thread_ts: threadTs } : {}),
    });
    return { ts: result.ts };
  },
});
