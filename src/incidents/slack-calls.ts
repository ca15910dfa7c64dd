import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../kernel/log';
import { rateLimitedFor } from '../kernel/slack/errors';

/** Waits this long at most for Slack's Retry-After inside the job; longer, BullMQ's backoff retries the job. */
const MAX_WAIT_MS = 30_000;
const MAX_WAITS = 3;

/**
 * A Web API call Slack rate-limits (429; the client rejects rate-limited calls rather than
 * queueing them) is made again after its Retry-After, a few times: an incident channel's
 * setup is never half done because Slack asked it to slow down.
 */
export async function withRetryAfter<T>(logger: Logger, call: () => Promise<T>): Promise<T> {
  for (let waits = 0; ; waits++) {
    try {
      return await call();
    } catch (err) {
      const asked = rateLimitedFor(err);
      if (asked === undefined || waits >= MAX_WAITS || asked > MAX_WAIT_MS) throw err;
      const waitMs = Math.max(1_000, asked);
      logger.info({ waitMs }, 'Slack rate-limited an incident call; waiting as it asked');
      await sleep(waitMs);
    }
  }
}
