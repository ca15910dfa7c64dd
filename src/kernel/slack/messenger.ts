import type { WebClient } from '@slack/web-api';
import type { SlackMessage } from './blocks';

export interface Responder {
  /** Answers through a slash command's or click's response_url, like Bolt's respond(). */
  respond(
    responseUrl: string,
    message: SlackMessage & { response_type?: 'ephemeral' | 'in_channel'; replace_original?: boolean },
  ): Promise<void>;
}

/** What the jobs say in Slack: threads, edits, and response_url replies. */
export class SlackMessenger implements Responder {
  constructor(private readonly client: WebClient) {}

  async post(channel: string, message: SlackMessage, threadTs?: string): Promise<string> {
    const result = await this.client.chat.postMessage({
      channel,
      text: message.text,
      blocks: message.blocks,
      ...(threadTs ? { thread_ts: threadTs } : {}),
    });
    return result.ts!;
  }

  async update(channel: string, ts: string, message: SlackMessage): Promise<void> {
    await this.client.chat.update({ channel, ts, text: message.text, blocks: message.blocks });
  }

  async respond(
    responseUrl: string,
    message: SlackMessage & { response_type?: 'ephemeral' | 'in_channel'; replace_original?: boolean },
  ): Promise<void> {
    const res = await fetch(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', ...message }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`response_url answered ${res.status}`);
  }
}
