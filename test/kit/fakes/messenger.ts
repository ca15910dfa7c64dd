import type { SlackMessage } from '../../../src/kernel/slack/blocks';
import type { SlackMessenger } from '../../../src/kernel/slack/messenger';

export type MessengerCall =
  | { method: 'post'; channel: string; message: SlackMessage; threadTs?: string; ts: string }
  | { method: 'update'; channel: string; ts: string; message: SlackMessage }
  | { method: 'respond'; responseUrl: string; message: SlackMessage };

/** SlackMessenger without Slack: every post, edit and response_url answer recorded in order. */
export class FakeMessenger implements Pick<SlackMessenger, 'post' | 'update' | 'respond'> {
  readonly calls: MessengerCall[] = [];
  private seq = 0;
  private readonly failures: Partial<Record<MessengerCall['method'], Error[]>> = {};

  async post(channel: string, message: SlackMessage, threadTs?: string): Promise<string> {
    this.fail('post');
    this.seq += 1;
    const ts = `1700000000.${String(this.seq).padStart(6, '0')}`;
    this.calls.push({ method: 'post', channel, message, ...(threadTs ? { threadTs } : {}), ts });
    return ts;
  }

  async update(channel: string, ts: string, message: SlackMessage): Promise<void> {
    this.fail('update');
    this.calls.push({ method: 'update', channel, ts, message });
  }

  async respond(
    responseUrl: string,
    message: SlackMessage & { response_type?: 'ephemeral' | 'in_channel'; replace_original?: boolean },
  ): Promise<void> {
    this.fail('respond');
    this.calls.push({ method: 'respond', responseUrl, message });
  }

  /** The next call of `method` throws `error`. */
  failNext(method: MessengerCall['method'], error: Error): void {
    (this.failures[method] ??= []).push(error);
  }

  /** The edits of one message, oldest first. */
  updatesOf(ts: string): SlackMessage[] {
    return this.calls.flatMap((c) => (c.method === 'update' && c.ts === ts ? [c.message] : []));
  }

  private fail(method: MessengerCall['method']): void {
    const error = this.failures[method]?.shift();
    if (error) throw error;
  }
}
