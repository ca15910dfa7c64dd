/**
 * A PagerDuty failure as the bot reports it: whether retrying later can help, and a
 * sentence that names what failed.
 */
export class PagerDutyError extends Error {
  override readonly name = 'PagerDutyError';
  constructor(
    message: string,
    readonly transient: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}
