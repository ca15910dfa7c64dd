import type { CustomRoute } from '@slack/bolt';
import { createHash, timingSafeEqual } from 'node:crypto';
import { notificationSchema } from '../src/alerts/domain/payload';
import type { PutOutcome } from '../src/alerts/inbox';
import { describeIssue } from '../src/config/errors';
import { deliveryDigest, deliverySender, groupIdOf, keepAlertsOf } from '../src/alerts/domain/group';
import { BodyTooLarge, readBody } from '../src/kernel/http/body';
import { sendJson } from '../src/kernel/http/json';
import type { CoreDeps } from '../src/deps';
import { withDeadline } from '../src/kernel/deadline';

/**
 * Alertmanager sends a group's alerts all at once (max_alerts is unlimited by default): a
 * few thousand alerts with their annotations are megabytes, and a 413 would lose them.
 */
export const WEBHOOK_BODY_LIMIT = 16 << 20;
/** Well within Alertmanager's own timeout for a webhook, so it hears 503 rather than nothing. */
const STORE_DEADLINE_MS = 5_000;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * Compares SHA-256 digests, which are 32 bytes whatever the tokens' lengths, so neither a
 * length check nor an early exit tells a caller anything about the expected token (whose
 * digest is made once).
 */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  // The scheme is case-insensitive (RFC 7235): Alertmanager's `authorization: {type: bearer}` sends `bearer`.
  const given = /^bearer +(.*)$/i.exec(header ?? '')?.[1] ?? '';
  return timingSafeEqual(sha256(given), expected);
}

/**
 * `POST /alertmanager`: checks the bearer token and the payload, stores the notification
 * in the alert inbox (once per delivery: an HA pair may send each twice), and only then
 * answers 2xx; when Redis cannot take it, or the inbox is full, 503 makes Alertmanager
 * retry, so nothing is lost.
 */
export function alertmanagerRoute(deps: CoreDeps, token: string | undefined): CustomRoute {
  const expected = token ? sha256(token) : undefined;
  return {
    path: '/alertmanager',
    method: 'POST',
    handler: async (req, res) => {
      try {
        if (!expected)
          return sendJson(res, 503, { error: 'ALERTMANAGER_WEBHOOK_TOKEN is not set; the webhook is off' });
        if (!bearerMatches(req.headers.authorization, expected)) {
          return sendJson(res, 401, { error: 'missing or wrong bearer token' });
        }
        let raw: unknown;
        try {
          raw = JSON.parse((await readBody(req, WEBHOOK_BODY_LIMIT)).toString('utf8'));
        } catch (err) {
          if (err instanceof BodyTooLarge) return sendJson(res, 413, { error: err.message });
          return sendJson(res, 400, { error: `the body is not JSON: ${(err as Error).message}` });
        }
        const parsed = notificationSchema.safeParse(raw);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          return sendJson(res, 400, {
            error: `not an Alertmanager v4 notification: ${issue ? describeIssue(issue) : ''}`,
          });
        }
        const notification = keepAlertsOf(parsed.data);
        const group = groupIdOf(notification.groupKey);
        const delivery = {
          group,
          digest: deliveryDigest(notification),
          sender: deliverySender(notification.externalURL, req.socket.remoteAddress),
        };
        let stored: PutOutcome;
        try {
          // A Redis that hangs rather than fails gets the same answer: Alertmanager retries,
          // and a late store makes the retry a repeat of the group's last delivery.
          stored = await withDeadline(
            deps.alertInbox.put(notification, delivery),
            STORE_DEADLINE_MS,
            'Redis',
          );
        } catch (err) {
          deps.logger.warn({ err: (err as Error).message }, 'alert not stored; Alertmanager will retry');
          return sendJson(res, 503, { error: 'cannot store the notification right now; retry' });
        }
        if (stored === 'full') {
          deps.logger.warn({ group }, 'alert inbox full; Alertmanager will retry');
          return sendJson(res, 503, { error: 'too many notifications waiting to be handled; retry' });
        }
        if (stored === 'stored')
          deps.metrics.webhookAlerts.inc({ status: notification.status }, notification.alerts.length);
        return sendJson(res, 202, { status: 'accepted', group });
      } catch (err) {
        deps.logger.error({ err: (err as Error).message }, 'alertmanager webhook failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      }
    },
  };
}
