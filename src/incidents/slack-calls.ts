import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../kernel/log';

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
      const e = err as { code?: string; retryAfter?: number };
      if (e.code !== 'slack_webapi_rate_limited_error' || waits >= MAX_WAITS) throw err;
      const waitMs = Math.max(1, e.retryAfter ?? 1) * 1_000;
      if (waitMs > MAX_WAIT_MS) throw err;
      logger.info({ waitMs }, 'Slack rate-limited an incident call; waiting as it asked');
      await sleep(waitMs);
    }
  }
}
