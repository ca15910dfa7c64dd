import { ErrorCode, WebClient } from '@slack/web-api';
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

/**
 * auth.test at start-up: a token Slack refuses stops the bot with one clear line rather
 * than failing every request. A Slack that cannot be reached (down, 5xx, rate-limited, the
 * network) does not: undefined, and the bot starts all the same, so that an outage of
 * Slack's never keeps workers from coming up and storing alerts for later.
 */
export async function checkSlackToken(client: WebClient): Promise<SlackIdentity | undefined> {
  try {
    const auth = await client.auth.test();
    return { botId: String(auth.bot_id ?? ''), botUserId: String(auth.user_id ?? '') };
  } catch (err) {
    // Slack's own answer (invalid_auth, token_revoked, account_inactive…): the token is wrong.
    if ((err as { code?: unknown }).code !== ErrorCode.PlatformError) return undefined;
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`environment SLACK_BOT_TOKEN: Slack did not accept it (${reason})`);
  }
}
