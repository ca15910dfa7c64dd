import type { WebClient } from '@slack/web-api';
import type { Clock } from '../../../src/kernel/clock';

export type ChatMethod = 'chat.postMessage' | 'chat.update';

export interface ChatCall {
  method: ChatMethod;
  /** The injected clock's time of the call. */
  at: number;
  args: { channel: string; ts?: string; thread_ts?: string; text?: string; blocks?: unknown[] };
  outcome: 'ok' | 'rate-limited' | 'error';
}

/**
 * The two Web API methods the outbox calls, as it calls them: chat.postMessage answers a
 * new ts, chat.update the same one. Every attempt is recorded with the clock's time,
 * failed ones too (Slack counts them against the channel). `rateLimitNext` throws what
 * @slack/web-api throws on a 429 with `rejectRateLimitedCalls`.
 */
export class FakeSlackClient {
  readonly calls: ChatCall[] = [];
  readonly chat = {
    postMessage: (args: ChatCall['args']) => this.call('chat.postMessage', args),
    update: (args: ChatCall['args']) => this.call('chat.update', args),
  };
  private seq = 0;
  private readonly failures: Partial<Record<ChatMethod, Error[]>> = {};

  constructor(private readonly clock: Clock) {}

  /** The outbox takes a WebClient; it uses only `chat`. */
  asWebClient(): WebClient {
    return this as unknown as WebClient;
  }

  /** The next call of `method` is answered 429 with Retry-After `seconds`. */
  rateLimitNext(method: ChatMethod, seconds: number): void {
    const error = Object.assign(
      new Error(`A rate limit was exceeded (url: ${method}, retry-after: ${seconds})`),
      {
        code: 'slack_webapi_rate_limited_error',
        retryAfter: seconds,
      },
    );
    (this.failures[method] ??= []).push(error);
  }

  failNext(method: ChatMethod, error: Error): void {
    (this.failures[method] ??= []).push(error);
  }

  callsTo(channel: string): ChatCall[] {
    return this.calls.filter((c) => c.args.channel === channel);
  }

  private async call(method: ChatMethod, args: ChatCall['args']) {
    const error = this.failures[method]?.shift();
    const outcome = !error ? 'ok' : 'code' in error ? 'rate-limited' : 'error';
    this.calls.push({ method, at: this.clock.now(), args: structuredClone(args), outcome });
    if (error) throw error;
    if (method === 'chat.update') return { ok: true, channel: args.channel, ts: args.ts };
    this.seq += 1;
    return { ok: true, channel: args.channel, ts: `1700000000.${String(this.seq).padStart(6, '0')}` };
  }
}
