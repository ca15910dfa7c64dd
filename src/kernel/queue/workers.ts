import { UnrecoverableError, Worker, type Job } from 'bullmq';
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
  const lost = new LostRuns();
  const workers = queues.map(
    (queue) =>
      new Worker(
        queue,
        (job, token) =>
          runJob(
            job,
            queue,
            jobs,
            deps,
            metrics,
            holdOf(job, token, stallMs, () => lost.add(job.id!)),
          ),
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
      // A lock that lapsed while the process stalled: worth a warning, no worker fault.
      if (err.message.startsWith('could not renew lock for job ')) {
        deps.logger.warn({ queue: worker.name, err: err.message }, 'a job lock lapsed; the process stalled');
        return;
      }
      // A run that lost its job cannot finish it in BullMQ: expected, and said already.
      if (lost.explains(err)) {
        deps.logger.info({ queue: worker.name, err: err.message }, 'a lost run could not finish its job');
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

/**
 * Jobs a run of this process lost to another run. BullMQ then fails to move them to
 * completed or failed under the lost run's token ("Lock mismatch for job …", "Missing lock
 * for job …"), which is no worker fault. At most LOST_KEPT are remembered.
 */
class LostRuns {
  private readonly ids = new Set<string>();

  add(id: string): void {
    if (this.ids.size >= LOST_KEPT) this.ids.clear();
    this.ids.add(id);
  }

  explains(err: Error): boolean {
    const id = /^(?:Lock mismatch|Missing lock) for job (.+?)\. /.exec(err.message)?.[1];
    return id !== undefined && this.ids.has(id);
  }
}
const LOST_KEPT = 1_000;

interface Hold {
  owned?: () => Promise<boolean>;
  /** Whether the run learnt that its job is another run's now. */
  lost(): boolean;
  release(): void;
}

/**
 * A run's hold on its job: BullMQ's lock under the run's token, which `owned()` renews and
 * which says whether the job is still the run's. BullMQ renews its workers' locks by job
 * id, so a stalled run of a job that ends after this process took the job again stops
 * BullMQ renewing the new run's lock too, and the new run would be failed as stalled. So
 * each run renews its own as well, every third of the stall time, until it ends or loses
 * the job.
 */
function holdOf(job: Job, token: string | undefined, stallMs: number, onLost: () => void): Hold {
  if (!token) return { lost: () => false, release: () => undefined };
  let lost = false;
  const owned = async () => {
    if (lost) return false;
    lost = (await job.extendLock(token, stallMs)) !== 1;
    if (lost) {
      clearInterval(timer);
      onLost();
    }
    return !lost;
  };
  // A renewal that fails (Redis away a moment) is tried again at the next tick; BullMQ's own goes on too.
  const timer = setInterval(() => void owned().catch(() => undefined), Math.max(100, stallMs / 3));
  timer.unref();
  return { owned, lost: () => lost, release: () => clearInterval(timer) };
}

async function runJob<D extends { logger: Logger; metrics: Metrics }>(
  job: Job,
  queue: QueueName,
  jobs: readonly JobDefinition<z.ZodType, D & BaseJobContext>[],
  deps: D,
  metrics: Metrics,
  hold: Hold,
): Promise<unknown> {
  const definition = jobs.find((d) => d.queue === queue && d.name === job.name);
  if (!definition) throw new UnrecoverableError(`no job '${job.name}' on queue '${queue}'`);
  const payload = definition.payload.safeParse(job.data);
  if (!payload.success)
    throw new UnrecoverableError(`job ${job.id} has a malformed payload: ${payload.error.message}`);
  const logger = deps.logger.child({ queue, job: job.id, name: job.name });
  const stopTimer = metrics.jobDuration.startTimer({ queue, name: job.name });
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
    metrics.jobs.inc({ queue, name: job.name, outcome: hold.lost() ? 'lost' : 'succeeded' });
    return result;
  } catch (err) {
    metrics.jobs.inc({ queue, name: job.name, outcome: hold.lost() ? 'lost' : 'failed' });
    throw err;
  } finally {
    hold.release();
    stopTimer();
  }
}
