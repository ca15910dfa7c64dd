import type { WebClient } from '@slack/web-api';
import { fitForSlack, type SlackMessage } from './blocks';
import { rateLimitedFor } from './errors';
import type { SlackOutbox } from './outbox';

export interface Responder {
  /** Answers through a slash command's or click's response_url, like Bolt's respond(). */
  respond(
    responseUrl: string,
    message: SlackMessage & { response_type?: 'ephemeral' | 'in_channel'; replace_original?: boolean },
  ): Promise<void>;
}

/**
 * What the jobs say in Slack: threads, edits, and response_url replies. A post or edit is
 * made at once, since a request's thread must move as its change does; one that Slack
 * rate-limits waits its turn at the outbox's gates (`turns`) and is made again, rather
 * than failing a job whose change is already made.
 */
export class SlackMessenger implements Responder {
  constructor(
    private readonly client: WebClient,
    private readonly turns?: Pick<SlackOutbox, 'afterRateLimit'>,
  ) {}

  async post(channel: string, message: SlackMessage, threadTs?: string): Promise<string> {
    const { text, blocks } = fitForSlack(message);
    const result = await this.write('chat.postMessage', channel, () =>
      this.client.chat.postMessage({ channel, text, blocks, ...(threadTs ? { thread_ts: threadTs } : {}) }),
    );
    return result.ts!;
  }

  async update(channel: string, ts: string, message: SlackMessage): Promise<void> {
    const { text, blocks } = fitForSlack(message);
    await this.write('chat.update', channel, () => this.client.chat.update({ channel, ts, text, blocks }));
  }

  private async write<T>(method: string, channel: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      const retryAfter = rateLimitedFor(err);
      if (retryAfter === undefined || !this.turns) throw err;
      return this.turns.afterRateLimit(method, channel, retryAfter, call);
    }
  }

  async respond(
    responseUrl: string,
    message: SlackMessage & { response_type?: 'ephemeral' | 'in_channel'; replace_original?: boolean },
  ): Promise<void> {
    const res = await fetch(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', ...fitForSlack(message) }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`response_url answered ${res.status}`);
  }
}
