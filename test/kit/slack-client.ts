import { WebClient } from '@slack/web-api';
import { createLogger } from '../../src/kernel/log';
import { slackLogger } from '../../src/kernel/slack/logger';
import type { SimulatedSlack } from '../../sandbox/slack-api';

/**
 * The real Web API client pointed at the simulated Slack, without retries (a refusal is
 * seen at once) and without logs (the refusals are what the tests are after).
 */
export function simulatedSlackClient(
  slack: SimulatedSlack,
  options: { retries?: number; rejectRateLimited?: boolean } = {},
): WebClient {
  return new WebClient(slack.botToken, {
    slackApiUrl: slack.apiUrl,
    retryConfig: { retries: options.retries ?? 0, factor: 1, minTimeout: 0, maxTimeout: 0 },
    rejectRateLimitedCalls: options.rejectRateLimited ?? false,
    logger: slackLogger(createLogger('silent')),
  });
}
