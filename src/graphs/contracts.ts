import { z } from 'zod';
import { defineContract } from '../kernel/queue/define';
import { slackUser } from '../kernel/queue/payloads';

/**
 * The graph of an alert group, drawn into its thread. Enqueued when a group opens or
 * reopens its own thread (never for a digest line), and by the Graph button. Its own
 * queue, so a slow Prometheus never delays a change, an alert thread or a page. The attempts are the wait for
 * the thread to be posted; a failure after that is a line in the thread, not a retry.
 */
export const alertGraphJob = defineContract({
  queue: 'graphs',
  name: 'alert-graph',
  payload: z.object({
    groupId: z.string().regex(/^[0-9a-f]{16}$/),
    episode: z.number().int().min(1),
    /** Who pressed Graph: drawn again whatever was drawn, at most once per `redrawGap` per group. */
    redrawBy: slackUser.optional(),
    /** The presser's response_url: told when the button was pressed too soon after the last. */
    responseUrl: z.url().optional(),
  }),
  options: { attempts: 6, backoff: { type: 'exponential', delay: 2_000 } },
});

/** One job per episode, whatever enqueues it twice (a retried notification job). */
export const alertGraphJobId = (groupId: string, episode: number): string => `graph-${groupId}-${episode}`;
