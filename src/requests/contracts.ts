import { changeCommand, colour, slackChannel, slackUser } from '../kernel/queue/payloads';
import { requestRef, requestRefId } from '../kernel/queue/payloads';
import { z } from 'zod';
import { defineContract } from '../kernel/queue/define';

/**
 * Turns a change command into a request: plans it against the live cluster, posts the
 * plan (with Approve/Deny where the policy asks), and queues it when no approval is due.
 */
export const planRequestJob = defineContract({
  queue: 'ops',
  name: 'plan-request',
  payload: z.object({
    command: changeCommand,
    /** Overrides the command's services (a switch back of several services). */
    services: z.array(z.string()).optional(),
    /** A switch back: each service to its own previous colour, not all to the command's. */
    targets: z.record(z.string(), colour).optional(),
    requester: slackUser,
    channel: slackChannel,
    responseUrl: z.url().optional(),
    threadTs: z.string().optional(),
    source: z.enum(['command', 'alert', 'switch-back', 'auto-switch-back']),
    /** An automatic switch back: the release it undoes and the alert that asked for it. */
    autoSwitchBack: z.object({ release: requestRefId, alert: z.string().min(1).max(200) }).optional(),
    /** Scale up from the live replica count by this many (a runbook button), instead of to `replicas`. */
    scaleBy: z.number().int().positive().optional(),
    /** A runbook button's alert group and episode: one runbook change for it at a time. */
    alertGroup: z.object({ id: z.string().max(64), episode: z.number().int().positive() }).optional(),
  }),
});

/** The longest request text an execute job carries; a longer one is read from the store instead. */
export const MAX_CARRIED_REQUEST = 64_000;

/** Runs an approved request once; retried on transient cluster errors with backoff. */
export const executeRequestJob = defineContract({
  queue: 'ops',
  name: 'execute-request',
  payload: requestRef.extend({
    /**
     * The request's text as its approval wrote it: the worker's claim starts from it instead
     * of a read, and its write checks the store still holds exactly this text.
     */
    approved: z.string().max(MAX_CARRIED_REQUEST).optional(),
  }),
  options: { attempts: 4, backoff: { type: 'exponential', delay: 2_000 } },
});

/** Runs when an approval's time is up: a request still waiting becomes expired, and its buttons go. */
export const expireRequestJob = defineContract({
  queue: 'ops',
  name: 'expire-request',
  payload: requestRef,
});

/** The bake window after a production switch is over: the switch-back button goes away. */
export const endBakeJob = defineContract({
  queue: 'ops',
  name: 'end-bake',
  payload: requestRef.extend({ channel: z.string(), ts: z.string() }),
});
