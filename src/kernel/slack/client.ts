import { WebClient } from '@slack/web-api';
import { ConfigError } from '../../config/errors';
import type { Logger } from '../log';
import { slackLogger } from './logger';

export interface SlackIdentity {
  botId: string;
  botUserId: string;
}

export function createSlackClient(token: string, apiUrl: string | undefined, logger: Logger): WebClient {
  return new WebClient(token, {
    ...(apiUrl ? { slackApiUrl: apiUrl } : {}),
    logger: slackLogger(logger),
    // BullMQ retries the whole job with backoff; a client that retried for 30 minutes inside it would hold the worker.
    retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
    // A 429 is rethrown so the caller's pacing decides when to try again.
    rejectRateLimitedCalls: true,
  });
}

/** auth.test at start-up: a wrong token stops the bot with one clear line rather than failing every request. */
export async function checkSlackToken(client: WebClient): Promise<SlackIdentity> {
  try {
    const auth = await client.auth.test();
    return { botId: String(auth.bot_id ?? ''), botUserId: String(auth.user_id ?? '') };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`environment SLACK_BOT_TOKEN: Slack did not accept it (${reason})`);
  }
}
