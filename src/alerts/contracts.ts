import { notificationSchema } from './domain/payload';
import { slackUser } from '../kernel/queue/payloads';
import { z } from 'zod';
import { defineContract } from '../kernel/queue/define';

/**
 * How a notification was stored before the alert inbox: a BullMQ job each. Nothing adds
 * these any more; workers still run the ones a web process of an earlier version adds
 * during a rolling upgrade, so none is lost then.
 */
export const legacyAlertNotificationJob = defineContract({
  queue: 'alerts',
  name: 'alert-notification',
  payload: notificationSchema,
  options: { attempts: 5, backoff: { type: 'exponential', delay: 1_000 } },
});

/** Acknowledge, Silence 1h and Expire silence, pressed in an alert thread. */
export const alertActionJob = defineContract({
  queue: 'notify',
  name: 'alert-action',
  payload: z.object({ kind: z.enum(['ack', 'silence', 'unsilence']), groupId: z.string(), user: slackUser }),
});

/**
 * One PagerDuty Events v2 event. Its own job, so a PagerDuty outage is retried with
 * backoff for a long while and never holds up Slack.
 */
export const pagerDutyEventJob = defineContract({
  queue: 'notify',
  name: 'pagerduty-event',
  payload: z.discriminatedUnion('action', [
    z.object({
      action: z.literal('trigger'),
      dedupKey: z.string(),
      summary: z.string(),
      source: z.string(),
      severity: z.enum(['critical', 'error', 'warning', 'info']),
      /** The alert group's episode it pages for; none for a page of the bot's own (a failed backup). */
      alertGroup: z.object({ id: z.string(), episode: z.number().int() }).optional(),
      /** The incident it pages for, when PagerDuty did not take the declaration's page at once. */
      incident: z.string().optional(),
      details: z.record(z.string(), z.string()).optional(),
      links: z.array(z.object({ href: z.string(), text: z.string() })).optional(),
    }),
    z.object({ action: z.enum(['acknowledge', 'resolve']), dedupKey: z.string() }),
  ]),
  options: { attempts: 10, backoff: { type: 'exponential', delay: 2_000 } },
});
