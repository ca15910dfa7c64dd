import { ErrorCode, UnrecoverableError, Worker, type Job } from 'bullmq';
import { systemClock } from '../clock';
import { withDeadline } from '../deadline';
import type { z } from 'zod';
import type { Metrics } from '../metrics';
import { disconnectRedis, redisOutageOf, type RedisClient } from '../redis';
import type { Logger } from '../log';
import type { BaseJobContext, JobDefinition, QueueName } from './define';
import { repeatStrategy } from './repeat';

const CONCURRENCY: Record<QueueName, number> = { ops: 4, notify: 2, alerts: 2, logs: 4, graphs: 2 };

export interface WorkerPool {
  /**
   * Stops taking jobs and lets running ones finish; after `deadlineMs` they are abandoned
   * to BullMQ's stall recovery: the workers' connection is cut, and nothing waits for it.
   */
  close(deadlineMs: number): Promise<{ drained: boolean }>;
}

/** The consumer side: one BullMQ worker per queue, dispatching by job name to its definition. */
export async function startWorkers<D extends { logger: Logger; metrics: Metrics }>(options: {
  connection: RedisClient;
  prefix: string;
  // Each definition's own schema types its run(); the pool only dispatches by name.
  jobs: readonly JobDefinition<z.ZodType, D & BaseJobContext>[];
  deps: D;
  stallMs: number;
}): Promise<WorkerPool> {
  const { connection, prefix, jobs, deps, stallMs } = options;
  const { metrics } = deps;
  const queues = [...new Set(jobs.map((j) => j.queue))];
  const outage = redisOutageOf(connection);
  let closing = false;
  const lapsed = new OncePerJob();
  const workers = queues.map(
    (queue) =>
      new Worker(
        queue,
        (job, token) => runJob(job, queue, jobs, deps, metrics, () => holdOf(job, token, stallMs)),
        {
          connection,
          prefix,
          concurrency: CONCURRENCY[queue],
          // A crashed worker's job returns to the queue once its lock lapses.
          lockDuration: stallMs,
          stalledInterval: stallMs,
          // The next run of a scheduler is reckoned by the worker that ran this one.
          settings: { repeatStrategy },
        },
      ),
  );
  for (const worker of workers) {
    worker.on('failed', (job, err) =>
      deps.logger.warn({ queue: worker.name, job: job?.id, name: job?.name, err: err.message }, 'job failed'),
    );
    worker.on('error', (err) => {
      // While Redis is away BullMQ passes on every reconnect attempt's error: the outage
      // counts them and reports once, at its start and at its end. A worker being closed
      // reports the connections cut under it, maybe after the outage ended with them.
      if (outage?.counted(err) || closing) return;
      // A lock that lapsed (the process stalled, or Redis was away that long): BullMQ says
      // so at every renewal until the run ends; once is enough, and it is no worker fault.
      const renewal = /^could not renew lock for job (.+)$/.exec(err.message);
      if (renewal) {
        if (lapsed.first(`${worker.name}:${renewal[1]}`))
          deps.logger.warn(
            { queue: worker.name, job: renewal[1] },
            'a job lock lapsed: the process stalled or Redis was away; another run may take the job',
          );
        return;
      }
      // A run that ended after its lock was gone cannot finish its job: another run has it.
      const { code } = err as Error & { code?: unknown };
      if (code === ErrorCode.JobLockMismatch || code === ErrorCode.JobLockNotExist) {
        deps.logger.warn({ queue: worker.name, err: err.message }, 'a run ended after losing its job');
        return;
      }
      deps.logger.error({ queue: worker.name, err: err.message }, 'worker error');
    });
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  return {
    async close(deadlineMs) {
      closing = true;
      let timer: NodeJS.Timeout | undefined;
      const graceful = Promise.all(workers.map((w) => w.close())).then(() => true);
      const deadline = new Promise<false>(
        (resolve) => (timer = setTimeout(() => resolve(false), deadlineMs)),
      );
      const drained = await Promise.race([graceful, deadline]);
      clearTimeout(timer);
      if (!drained) {
        // worker.close(true) now would only return the graceful close still under way.
        // Cut instead: lock renewals stop, so BullMQ hands the jobs to another worker once
        // their locks lapse, and a close waiting on an unreachable Redis fails at once.
        graceful.catch(() => undefined);
        disconnectRedis(connection);
      }
      return { drained };
    },
  };
}

/** Says yes the first time for a key; at most KEPT keys are remembered. */
class OncePerJob {
  private static readonly KEPT = 1_000;
  private readonly seen = new Set<string>();

  first(key: string): boolean {
    if (this.seen.has(key)) return false;
    if (this.seen.size >= OncePerJob.KEPT) this.seen.clear();
    this.seen.add(key);
    return true;
  }
}

interface Hold {
  owned?: () => Promise<boolean>;
  /** Whether the run learnt that its job is another run's now. */
  lost(): boolean;
  /** Asks once more at the end, when the hold was last confirmed long ago (the run may have stalled). */
  settle(): Promise<void>;
  release(): void;
}

/**
 * A run's hold on its job: BullMQ's lock under the run's token, which `owned()` renews and
 * which says whether the job is still the run's. BullMQ renews its workers' locks by job
 * id, so a stalled run of a job that ends after this process took the job again stops
 * BullMQ renewing the new run's lock too, and the new run would be failed as stalled. So
 * each run renews its own as well, every third of the stall time, until it ends or loses
 * the job. A Redis that does not answer within that third leaves the run its job, as it
 * was before the question: the run does not wait out an outage to ask.
 */
function holdOf(job: Job, token: string | undefined, stallMs: number): Hold {
  if (!token) return { lost: () => false, settle: async () => undefined, release: () => undefined };
  const every = Math.max(100, stallMs / 3);
  let lost = false;
  let confirmedAt = systemClock.now();
  let asking: Promise<boolean> | undefined;
  const ask = async (): Promise<boolean> => {
    const renewed = await withDeadline(job.extendLock(token, stallMs), every, 'Redis').catch(() => undefined);
    if (renewed === undefined) return true;
    if (renewed === 1) {
      confirmedAt = systemClock.now();
      return true;
    }
    lost = true;
    clearInterval(timer);
    return false;
  };
  // One question at a time: a Redis away a while does not pile renewals up behind it.
  const owned = async () => (lost ? false : (asking ??= ask().finally(() => (asking = undefined))));
  const timer = setInterval(() => void owned(), every);
  timer.unref();
  return {
    owned,
    lost: () => lost,
    settle: async () => {
      if (!lost && systemClock.now() - confirmedAt > stallMs / 2) await owned();
    },
    release: () => clearInterval(timer),
  };
}

async function runJob<D extends { logger: Logger; metrics: Metrics }>(
  job: Job,
  queue: QueueName,
  jobs: readonly JobDefinition<z.ZodType, D & BaseJobContext>[],
  deps: D,
  metrics: Metrics,
  holdFor: () => Hold,
): Promise<unknown> {
  const definition = jobs.find((d) => d.queue === queue && d.name === job.name);
  if (!definition) throw new UnrecoverableError(`no job '${job.name}' on queue '${queue}'`);
  const payload = definition.payload.safeParse(job.data);
  if (!payload.success)
    throw new UnrecoverableError(`job ${job.id} has a malformed payload: ${payload.error.message}`);
  const logger = deps.logger.child({ queue, job: job.id, name: job.name });
  const stopTimer = metrics.jobDuration.startTimer({ queue, name: job.name });
  const hold = holdFor();
  try {
    const result = await definition.run(payload.data, {
      ...deps,
      logger,
      job: {
        id: job.id!,
        attemptsMade: job.attemptsMade,
        attemptsStarted: job.attemptsStarted,
        attempts: job.opts.attempts ?? 1,
        ...(hold.owned ? { owned: hold.owned } : {}),
      },
    });
    await hold.settle();
    metrics.jobs.inc({ queue, name: job.name, outcome: hold.lost() ? 'lost' : 'succeeded' });
    return result;
  } catch (err) {
    await hold.settle();
    metrics.jobs.inc({ queue, name: job.name, outcome: hold.lost() ? 'lost' : 'failed' });
    throw err;
  } finally {
    hold.release();
    stopTimer();
  }
}
