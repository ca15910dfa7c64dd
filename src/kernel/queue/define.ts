import type { JobsOptions } from 'bullmq';
import type { z } from 'zod';
import type { JobContext } from './context';

/** `logs` apart from `ops`: a minute-long follow never holds up an approved change. */
export const QUEUE_NAMES = ['ops', 'notify', 'alerts', 'logs'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/**
 * A job's payload schema is shared by whoever enqueues it and the processor that runs it,
 * so the two cannot drift apart.
 */
export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  queue: QueueName;
  name: string;
  payload: S;
  options?: JobsOptions;
  run(payload: z.output<S>, ctx: JobContext): Promise<unknown>;
}

export function defineJob<S extends z.ZodType>(definition: JobDefinition<S>): JobDefinition<S> {
  return definition;
}
