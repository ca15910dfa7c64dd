import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { connectRedis, disconnectRedis, type RedisClient } from '../../src/kernel/redis';
import { z } from 'zod';
import { startWorkers, type WorkerPool } from '../../src/kernel/queue/workers';
import type { BaseJobContext, JobDefinition, JobInfo } from '../../src/kernel/queue/define';
import { createLogger, type Logger } from '../../src/kernel/log';
import { createMetrics, type Metrics } from '../../src/kernel/metrics';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';
import { TestRedisServer } from '../kit/redis-server';
import { waitFor } from '../kit/wait';

type ProbeContext = { logger: Logger; metrics: Metrics } & BaseJobContext;

/** A job on the logs queue that records each run's JobInfo, then waits for what `until` gives it. */
function probeJob(
  runs: JobInfo[],
  until: (job: JobInfo) => Promise<void> | undefined,
): JobDefinition<z.ZodType, ProbeContext> {
  return {
    queue: 'logs',
    name: 'probe',
    payload: z.object({}),
    run: async (_payload, ctx) => {
      runs.push(ctx.job);
      await until(ctx.job);
      return 'done';
    },
  };
}

/**
 * What a job learns of its runs from the worker pool, with real BullMQ: a worker that dies
 * mid-job fails nothing (attemptsMade stays 0), so what tells the next worker's run that
 * it takes over (a log follow's reply keys, a silence press's look for its silence) is
 * attemptsStarted.
 */
describe('a job taken over from a worker that died', () => {
  const prefix = uniquePrefix();
  const deps = { logger: createLogger('silent'), metrics: createMetrics() };
  const runs: JobInfo[] = [];
  const connections: RedisClient[] = [];
  const pools: WorkerPool[] = [];
  let queue: Queue;
  /** Ends the first run at last, once the test is over, so that its worker can close. */
  let endFirstRun = () => undefined as void;
  const firstRun = new Promise<void>((resolve) => (endFirstRun = resolve));

  // The first run hangs while its worker is cut off below, as a killed one would be.
  const probe = probeJob(runs, (job) => (job.attemptsStarted === 1 ? firstRun : undefined));
  const pool = async () => {
    // As the worker role connects: BullMQ's copies of it are cut with it.
    const connection = connectRedis(
      { redisUrl: TEST_REDIS_URL, redisClusterNodes: undefined },
      'blocking',
      deps.logger,
    );
    connections.push(connection);
    const started = await startWorkers({ connection, prefix, jobs: [probe], deps, stallMs: 500 });
    pools.push(started);
    return started;
  };

  beforeAll(() => {
    queue = new Queue('logs', { connection: { url: TEST_REDIS_URL }, prefix });
  });
  afterAll(async () => {
    endFirstRun();
    await Promise.all(pools.map((p) => p.close(0)));
    for (const c of connections) disconnectRedis(c);
    await queue.close();
    await dropPrefix(prefix);
  });

  it('runs it again with attemptsStarted 2 and attemptsMade 0', async () => {
    const first = await pool();
    await queue.add('probe', {}, { jobId: 'takeover-probe', attempts: 1 });
    await waitFor(
      () => runs.length,
      (n) => n === 1,
      { what: 'the first run' },
    );
    // Cut off mid-job: its lock lapses and the next worker's stall check hands the job on.
    expect((await first.close(0)).drained).toBe(false);
    await pool();
    await waitFor(
      () => runs.length,
      (n) => n === 2,
      { what: 'the run of the worker that took over', timeoutMs: 15_000 },
    );
    expect(runs.map(({ attemptsMade, attemptsStarted }) => ({ attemptsMade, attemptsStarted }))).toEqual([
      { attemptsMade: 0, attemptsStarted: 1 },
      { attemptsMade: 0, attemptsStarted: 2 },
    ]);
  }, 30_000);
});

/**
 * A worker that stalls rather than dies (a long GC, a process stopped and continued)
 * resumes a run whose job another run may have by then: its `owned()` says so, which is
 * what a log follow asks before each post.
 */
describe('a job whose worker stalled past the stall time', () => {
  const prefix = uniquePrefix();
  const logged: { level: string; msg: string }[] = [];
  const logger = createLogger('info', {
    write: (line: string) => void logged.push(JSON.parse(line) as { level: string; msg: string }),
  });
  const deps = { logger, metrics: createMetrics() };
  const runs: JobInfo[] = [];
  let connection: RedisClient;
  let workers: WorkerPool;
  let queue: Queue;
  let endRuns = () => undefined as void;
  const hold = new Promise<void>((resolve) => (endRuns = resolve));
  let endFirstRun = () => undefined as void;
  const firstRun = new Promise<void>((resolve) => (endFirstRun = resolve));
  let redis: Redis;

  const probe = probeJob(runs, (job) => (job.attemptsStarted === 1 ? firstRun : hold));
  const jobsCounted = async (outcome: string) =>
    (await deps.metrics.jobs.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;

  beforeAll(async () => {
    queue = new Queue('logs', { connection: { url: TEST_REDIS_URL }, prefix });
    connection = connectRedis(
      { redisUrl: TEST_REDIS_URL, redisClusterNodes: undefined },
      'blocking',
      deps.logger,
    );
    workers = await startWorkers({ connection, prefix, jobs: [probe], deps, stallMs: 500 });
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    endFirstRun();
    endRuns();
    redis.disconnect();
    await workers.close(5_000);
    disconnectRedis(connection);
    await queue.close();
    await dropPrefix(prefix);
  });

  it('tells the resumed run that the job is no longer its own, and the run that took over that it is', async () => {
    await queue.add('probe', {}, { jobId: 'stall-probe', attempts: 1 });
    await waitFor(
      () => runs.length,
      (n) => n === 1,
      { what: 'the first run' },
    );
    const [first] = runs;
    expect(await first!.owned!()).toBe(true);
    // The whole process stalls three times the stall time: no timer runs, no lock is renewed.
    const until = Date.now() + 1_500;
    while (Date.now() < until) {
      // stalled
    }
    await waitFor(
      () => runs.length,
      (n) => n === 2,
      { what: 'a second run of the job, after its lock lapsed', timeoutMs: 15_000 },
    );
    expect(runs[1]!.attemptsStarted).toBe(2);

    // The stalled run ends, without asking, while the one that took over goes on in this same
    // worker: BullMQ stops renewing the job's lock (it tracks locks by job id), the run renews
    // its own.
    endFirstRun();
    await waitFor(
      () => jobsCounted('lost'),
      (n) => n === 1,
      { what: 'the stalled run to end, counted as lost' },
    );
    expect(await first!.owned!()).toBe(false);
    // BullMQ cannot finish the job under the lost run's token, and says so; no worker fault.
    await waitFor(
      () => logged.filter((l) => l.msg === 'a run ended after losing its job').length,
      (n) => n >= 1,
      { what: 'BullMQ’s refusal to finish the lost run, logged as such' },
    );
    expect(logged.filter((l) => l.level === 'error')).toEqual([]);
    // The lapse is said once for the job, however often BullMQ's renewal finds it.
    expect(logged.filter((l) => l.msg.startsWith('a job lock lapsed'))).toHaveLength(1);
    const lock = `${prefix}:logs:stall-probe:lock`;
    let last = await redis.pttl(lock);
    let renewals = 0;
    await waitFor(
      async () => {
        const ttl = await redis.pttl(lock);
        if (ttl > last) renewals += 1;
        last = ttl;
        return renewals;
      },
      (n) => n >= 4,
      { what: 'the lock of the run that took over, renewed again and again', timeoutMs: 10_000 },
    );
    expect(await queue.getJobState('stall-probe')).toBe('active');
    expect(await runs[1]!.owned!()).toBe(true);
  }, 30_000);
});

/**
 * A run that asks whether its job is still its own while Redis hangs (a stopped server, a
 * peer gone without a reset) is answered within a third of the stall time, and keeps its
 * job: it does not wait out the outage to go on, nor count as lost.
 */
describe('a job asking about its hold while Redis hangs', () => {
  const prefix = uniquePrefix();
  const deps = { logger: createLogger('silent'), metrics: createMetrics() };
  const runs: JobInfo[] = [];
  let server: TestRedisServer;
  let connection: RedisClient;
  let workers: WorkerPool;
  let queue: Queue;
  let endRun = () => undefined as void;
  const running = new Promise<void>((resolve) => (endRun = resolve));

  beforeAll(async () => {
    server = await TestRedisServer.start();
    queue = new Queue('logs', { connection: { url: server.url }, prefix });
    connection = connectRedis(
      { redisUrl: server.url, redisClusterNodes: undefined },
      'blocking',
      deps.logger,
    );
    workers = await startWorkers({
      connection,
      prefix,
      jobs: [probeJob(runs, () => running)],
      deps,
      stallMs: 3_000,
    });
  });
  afterAll(async () => {
    server.resume();
    endRun();
    await workers.close(5_000);
    disconnectRedis(connection);
    await queue.close();
    await server.stop();
  });

  it('is told the job is still its own within a third of the stall time', async () => {
    await queue.add('probe', {}, { jobId: 'hang-probe', attempts: 1 });
    await waitFor(
      () => runs.length,
      (n) => n === 1,
      { what: 'the run' },
    );
    server.pause();
    const asked = runs[0]!.owned!();
    // Waits for the answer as the run would, not for Redis: a hang past the test's timeout fails it.
    await expect(asked).resolves.toBe(true);
    server.resume();
    endRun();
    await waitFor(
      () => queue.getJobState('hang-probe'),
      (state) => state === 'completed',
      { what: 'the run to finish once Redis answers again' },
    );
    expect((await deps.metrics.jobs.get()).values.map((v) => v.labels.outcome)).toEqual(['succeeded']);
  }, 20_000);
});
