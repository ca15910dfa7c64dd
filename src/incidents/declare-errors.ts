/** The Slack error code of a failed Web API call, if it was one. */
export const slackError = (err: unknown): string | undefined =>
  (err as { data?: { error?: string } }).data?.error;
