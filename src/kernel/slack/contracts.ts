import type { KnownBlock } from '@slack/types';
import { z } from 'zod';
import { defineContract } from '../queue/define';

/** Posts or edits a message in Slack on behalf of any other part of the bot. */
export const postMessageJob = defineContract({
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
});
