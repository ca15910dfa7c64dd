import { WebClient } from '@slack/web-api';
import { ConfigError } from '../../config/errors';
import type { Logger } from '../log';
import { slackError } from './errors';
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

/** What auth.test answers for a token that will not work: a fault of the configuration. */
const TOKEN_REFUSED = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
  'no_permission',
  'ekm_access_denied',
  'team_access_not_granted',
]);

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
    // Slack's own word that the token is wrong; any other answer (fatal_error,
    // service_unavailable… in an incident of Slack's) is Slack out of service.
    if (!TOKEN_REFUSED.has(slackError(err) ?? '')) return undefined;
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`environment SLACK_BOT_TOKEN: Slack did not accept it (${reason})`);
  }
}
