import type { JobsOptions } from 'bullmq';
import type { z } from 'zod';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';

/**
 * `logs` apart from `ops`: a minute-long follow never holds up an approved change; `graphs`
 * apart: a slow Prometheus never holds up an alert's thread or its page. Alertmanager's
 * notifications come through the alert inbox (src/alerts/inbox.ts); `alerts` only takes
 * the jobs an earlier version's web process still adds during a rolling upgrade.
 */
export const QUEUE_NAMES = ['ops', 'notify', 'alerts', 'logs', 'graphs'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/**
 * What a job is, seen from outside: its queue, name and payload schema. Whoever enqueues
 * it (a handler, another job) imports only this, so the web role loads no processor and
 * the two sides cannot drift apart.
 */
export interface JobContract<S extends z.ZodType = z.ZodType> {
  queue: QueueName;
  name: string;
  payload: S;
  options?: JobsOptions;
}

export function defineContract<S extends z.ZodType>(contract: JobContract<S>): JobContract<S> {
  return contract;
}

/** Which attempt of which job a processor runs. */
export interface JobInfo {
  id: string;
  attemptsMade: number;
  /** Runs begun so far, this one included: a worker that died mid-job starts it again without failing it. */
  attemptsStarted: number;
  attempts: number;
  /**
   * Renews this run's hold on its job and says whether it still has it: false once the hold
   * lapsed (the process stalled past the stall time) and another run may have the job
   * now. Absent where the run holds no lock to renew (the alert inbox's entries).
   */
  owned?: () => Promise<boolean>;
}

/** What every processor's context has, whatever else the composition root puts in it. */
export interface BaseJobContext {
  logger: Logger;
  metrics: Metrics;
  job: JobInfo;
}

/** A contract with its processor: `run` gets the parsed payload and the worker's context. */
export interface JobDefinition<
  S extends z.ZodType = z.ZodType,
  C extends BaseJobContext = BaseJobContext,
> extends JobContract<S> {
  run(payload: z.output<S>, ctx: C): Promise<unknown>;
}

/** Implements a contract; the context type comes from the composition root (src/deps.ts). */
export function implement<C extends BaseJobContext>() {
  return <S extends z.ZodType>(
    contract: JobContract<S>,
    run: (payload: z.output<S>, ctx: C) => Promise<unknown>,
  ): JobDefinition<S, C> => ({ ...contract, run });
}
