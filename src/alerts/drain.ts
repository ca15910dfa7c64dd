import { setTimeout as delay } from 'node:timers/promises';
import type { JobInfo } from '../kernel/queue/define';
import type { Logger } from '../kernel/log';
import type { Metrics } from '../kernel/metrics';
import { disconnectRedis, redisOutageOf, type RedisClient } from '../kernel/redis';
import type { Clock } from '../kernel/clock';
import type { Notification } from './domain/payload';
import type { AlertInbox, InboxEntry } from './inbox';

/** The most notifications taken in one read. */
const BATCH = 64;
/** How long a read waits for the first entry before looking for entries to retry. */
const BLOCK_MS = 1_000;
/** Consumers of workers gone this long, with nothing pending, leave the group. */
const FORGET_IDLE_MS = 86_400_000;
const JOB = { queue: 'alerts', name: 'alert-notification' } as const;

export interface DrainOptions {
  inbox: AlertInbox;
  /** A connection of the drain's own, as its reads block; its owner closes it after the drain. */
  blocking: RedisClient;
  /** This process's name in the consumer group: unique per process. */
  consumer: string;
  run(notification: Notification, job: JobInfo): Promise<unknown>;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** A dead or hung worker's entries go to another one after this long. */
  stallMs: number;
  /** Hand-outs of one notification before it is given up (logged, counted, dropped). */
  attempts?: number;
  /** How long a failed notification waits before its next attempt, by attempts so far. */
  retryAfter?: (deliveries: number) => number;
  /**
   * After the first entry of a read, how long to let more arrive before handling them: a
   * burst is then read, acknowledged and looked up (open incidents, maintenance windows)
   * together. Alert threads are paced at a message a second per channel, so this costs
   * nobody anything they see.
   */
  lingerMs?: number;
}

/** When to look for entries to retry or take over next, and where the last look ended. */
interface Sweep {
  due: number;
  forgetDue: number;
  cursor: { at: string };
}

export interface AlertDrain {
  /** Takes no more notifications; the ones under way get `deadlineMs`, then are left to another worker. */
  close(deadlineMs: number): Promise<{ drained: boolean }>;
}

/** Retries wait 1, 2, 4, 8 s…: Redis or Slack hiccups pass, a bad notification does not spin. */
const retryAfter = (deliveries: number): number => 1_000 * 2 ** Math.max(0, deliveries - 1);

/**
 * The worker's side of the alert inbox: reads notifications in batches, handles each
 * group's in order and different groups at once, and acknowledges what is done. A failed
 * notification stays pending and is retried after a backoff; a worker that dies leaves
 * its entries pending, and another takes them after `stallMs`.
 */
export async function startAlertDrain(options: DrainOptions): Promise<AlertDrain> {
  const { inbox, blocking, consumer, logger, metrics, clock, stallMs } = options;
  const attempts = options.attempts ?? 5;
  const lingerMs = options.lingerMs ?? 25;
  const backoff = options.retryAfter ?? retryAfter;
  // Retries are looked for between reads: a read waits no longer than the first retry's backoff.
  const blockMs = Math.min(BLOCK_MS, backoff(1));
  const outage = redisOutageOf(blocking);
  let stopping = false;
  // Waits (the linger, the pause after a failed read) end at once when the drain closes.
  const closed = new AbortController();
  const pause = (ms: number) => delay(ms, undefined, { signal: closed.signal }).catch(() => undefined);
  /** In a blocking read, holding no entry yet. */
  let waiting = false;
  await inbox.ensureGroup();

  async function runOne(entry: InboxEntry): Promise<boolean> {
    const { notification, deliveries } = entry;
    if (!notification) {
      logger.error({ entry: entry.id }, 'alert inbox entry is not a notification; dropped');
      return true;
    }
    if (deliveries > attempts) {
      // Handed out again after its worker died while on it, attempts times over: a
      // notification that kills workers must not go on killing them.
      logger.error(
        { entry: entry.id, group: notification.groupKey, deliveries },
        'alert notification given up',
      );
      metrics.jobs.inc({ ...JOB, outcome: 'failed' });
      return true;
    }
    const stopTimer = metrics.jobDuration.startTimer(JOB);
    try {
      await options.run(notification, {
        id: entry.id,
        attemptsMade: deliveries - 1,
        attemptsStarted: deliveries,
        attempts,
      });
      metrics.jobs.inc({ ...JOB, outcome: 'succeeded' });
      return true;
    } catch (err) {
      metrics.jobs.inc({ ...JOB, outcome: 'failed' });
      const last = deliveries >= attempts;
      const fields = {
        entry: entry.id,
        group: notification.groupKey,
        attempt: deliveries,
        err: (err as Error).message,
      };
      if (last) logger.error(fields, 'alert notification failed; given up');
      else logger.warn(fields, 'alert notification failed; will retry');
      return last;
    } finally {
      stopTimer();
    }
  }

  /**
   * Each group's notifications in order, different groups at once. A failed one does not
   * hold back the group's later ones: they are newer news (the group keeps only what is
   * newest, see applyNotification), and held back they would be handed out, and counted,
   * again with every retry of the failed one.
   */
  async function handle(entries: InboxEntry[]): Promise<void> {
    const byGroup = new Map<string, InboxEntry[]>();
    for (const entry of entries) {
      const group = entry.notification?.groupKey ?? entry.id;
      const chain = byGroup.get(group);
      if (chain) chain.push(entry);
      else byGroup.set(group, [entry]);
    }
    const done: string[] = [];
    await Promise.all(
      [...byGroup.values()].map(async (chain) => {
        for (const entry of chain) if (await runOne(entry)) done.push(entry.id);
      }),
    );
    await inbox.done(done);
  }

  async function next(sweep: Sweep): Promise<InboxEntry[]> {
    const now = clock.now();
    if (now >= sweep.due) {
      sweep.due = now + blockMs;
      if (now >= sweep.forgetDue) {
        sweep.forgetDue = now + FORGET_IDLE_MS / 24;
        await inbox.forgetIdle(FORGET_IDLE_MS);
      }
      const retries = await inbox.reclaim(consumer, stallMs, backoff, sweep.cursor);
      if (retries.length > 0) return retries;
    }
    waiting = true;
    const entries = await inbox.read(blocking, consumer, BATCH, blockMs).finally(() => (waiting = false));
    if (entries.length === 0 || entries.length === BATCH || lingerMs <= 0) return entries;
    await pause(lingerMs);
    if (stopping) return entries;
    return [...entries, ...(await inbox.read(blocking, consumer, BATCH - entries.length, 0))];
  }

  const loop = (async () => {
    const sweep: Sweep = { due: 0, forgetDue: 0, cursor: { at: '0-0' } };
    while (!stopping) {
      try {
        const entries = await next(sweep);
        if (entries.length > 0) await handle(entries);
      } catch (err) {
        if (stopping) break;
        // A Redis that lost its data (restarted without persistence, flushed) lost the
        // group too: make it again, and go on with what comes in from now on.
        if ((err as Error).message.startsWith('NOGROUP')) {
          logger.warn('the alert inbox was gone from Redis; made again');
          await inbox.ensureGroup().catch(() => undefined);
          continue;
        }
        // While Redis is away every read fails; the outage reports it once.
        if (!outage?.counted(err as Error))
          logger.error({ err: (err as Error).message }, 'alert drain failed');
        await pause(blockMs);
      }
    }
  })();

  return {
    async close(deadlineMs) {
      stopping = true;
      closed.abort();
      // A read still waiting holds nothing yet: cut it rather than wait it out.
      if (waiting) disconnectRedis(blocking);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<false>(
        (resolve) => (timer = setTimeout(() => resolve(false), deadlineMs)),
      );
      const drained = await Promise.race([loop.then(() => true), deadline]);
      clearTimeout(timer);
      // Left pending otherwise: another worker takes them once they are stallMs old.
      if (drained) await inbox.leave(consumer).catch(() => undefined);
      return { drained };
    },
  };
}
