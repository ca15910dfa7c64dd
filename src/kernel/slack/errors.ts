/**
 * What a failed Web API call says, read in one place: the client rejects rate-limited
 * calls (`rejectRateLimitedCalls`) and puts Slack's own error code in `data.error`.
 */

/** Slack's error code (`name_taken`, `users_not_found`…) of a failed Web API call, if it was one. */
export const slackError = (err: unknown): string | undefined =>
  (err as { data?: { error?: string } }).data?.error;

/** Seconds → ms from a Web API rate-limit error, else undefined. */
export function rateLimitedFor(err: unknown): number | undefined {
  const e = err as { code?: string; retryAfter?: number };
  if (e.code === 'slack_webapi_rate_limited_error') return (e.retryAfter ?? 1) * 1000;
  return undefined;
}
