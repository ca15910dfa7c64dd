import { Queue, type JobsOptions } from 'bullmq';
import type { z } from 'zod';
import type { RedisClient } from '../redis';
import { repeatStrategy } from './repeat';
import { QUEUE_NAMES, type JobContract, type QueueName } from './define';

const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { count: 1_000 },
  removeOnFail: { age: 7 * 86_400 },
};

/** The producer side: one BullMQ queue per name, sharing the web role's connection. */
export class Queues {
  private readonly queues: Map<QueueName, Queue>;

  constructor(connection: RedisClient, prefix: string) {
    this.queues = new Map(
      QUEUE_NAMES.map((name) => {
        const queue = new Queue(name, {
          connection,
          prefix,
          defaultJobOptions: DEFAULT_JOB_OPTIONS,
          settings: { repeatStrategy },
        });
        // The connection's owner reports outages; without a listener BullMQ prints them itself.
        queue.on('error', () => undefined);
        return [name, queue];
      }),
    );
  }

  get(name: QueueName): Queue {
    return this.queues.get(name)!;
  }

  /** Validates the payload against the job's schema before it ever reaches Redis. */
  enqueue<S extends z.ZodType>(
    definition: JobContract<S>,
    payload: z.input<S>,
    options: JobsOptions = {},
  ): Promise<string> {
    return this.enqueueParsed(definition, definition.payload.parse(payload), options);
  }

  /**
   * Validates now and adds when called: a command checks its job before it answers the
   * user and touches Redis only after, so a failure then can only be the queue's.
   */
  prepare<S extends z.ZodType>(
    definition: JobContract<S>,
    payload: z.input<S>,
    options: JobsOptions = {},
  ): () => Promise<string> {
    const data = definition.payload.parse(payload);
    return () => this.enqueueParsed(definition, data, options);
  }

  /**
   * For a payload that already is the output of the job's own schema: the webhook parses
   * each notification to answer 400, and parsing 20 alerts twice is half its work.
   */
  async enqueueParsed<S extends z.ZodType>(
    definition: JobContract<S>,
    data: z.output<S>,
    options: JobsOptions = {},
  ): Promise<string> {
    const job = await this.get(definition.queue).add(definition.name, data, {
      ...definition.options,
      ...options,
    });
    return job.id!;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
