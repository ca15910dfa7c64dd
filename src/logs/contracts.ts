import { environmentName, slackChannel, slackUser } from '../kernel/queue/payloads';
import { z } from 'zod';
import { defineContract } from '../kernel/queue/define';

/**
 * `/azora logs …`: a header in the channel (or the alert's thread) and the lines in its
 * thread, all through the paced outbox. Logs run on their own queue, so a follow never
 * delays a change.
 */
export const logsJob = defineContract({
  queue: 'logs',
  name: 'logs',
  payload: z.object({
    environment: environmentName,
    service: z.string(),
    lines: z.number().int().min(1).max(1000),
    sinceMs: z.number().int().positive().optional(),
    grep: z.string().max(200).optional(),
    followMs: z.number().int().positive().max(300_000).optional(),
    channel: slackChannel,
    requester: slackUser,
    responseUrl: z.url(),
    /** Post into this thread (an alert's outbox key) rather than start one in the channel. */
    threadKey: z.string().max(100).optional(),
    /** The requester's follow slot, given back when the follow ends. */
    followSlot: z.string().max(100).optional(),
  }),
  options: { attempts: 1 },
});
