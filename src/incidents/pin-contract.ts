import { z } from 'zod';
import { defineContract } from '../kernel/queue/define';
import { slackChannel, slackUser } from '../kernel/queue/payloads';

/** The reaction that puts a message in its incident's timeline. */
export const PIN_REACTION = 'pushpin';

/** A Slack message timestamp: seconds, a dot, microseconds. */
export const messageTs = z.string().regex(/^\d{1,12}\.\d{1,6}$/);

/** An Events API event id (`Ev…`): letters and digits, safe in a BullMQ job id. */
export const eventId = z.string().regex(/^[A-Za-z0-9]{1,100}$/);

/**
 * Someone reacted with :pushpin: to the message `ts` in an open incident's channel: the job
 * reads the message and adds it to the timeline (once per message, whoever pinned it).
 */
export const pinEntryJob = defineContract({
  queue: 'notify',
  name: 'pin-entry',
  payload: z.object({
    channel: slackChannel,
    ts: messageTs,
    /** Who reacted: the entry's actor. */
    user: slackUser,
    /** The reaction_added event's id: one job per delivery, however often Slack sends it. */
    eventId,
  }),
  options: { attempts: 3, backoff: { type: 'exponential', delay: 2_000 } },
});

/** The job's id for an event: a redelivery that slips past the gate finds the job already there. */
export const pinJobId = (event: string): string => `pin-${event}`;
