import { defaultRepeatStrategy, type RepeatStrategy } from 'bullmq';

/** `0 M H * * *`: every day at H:M:00, the only kind of schedule the bot keeps (backups, maintenance). */
const DAILY = /^0 ([1-5]?\d) (1?\d|2[0-3]) \* \* \*$/;
const DAY_MS = 86_400_000;

/** The first H:M:00 UTC strictly after `millis`, or undefined for a pattern that is not a daily one. */
export function nextDailyUtc(pattern: string, millis: number): number | undefined {
  const match = DAILY.exec(pattern);
  if (!match) return undefined;
  const at = (Number(match[2]) * 60 + Number(match[1])) * 60_000;
  const today = Math.floor(millis / DAY_MS) * DAY_MS + at;
  return today > millis ? today : today + DAY_MS;
}

/**
 * BullMQ's repeat strategy for the bot's queues and workers. A daily schedule in UTC is
 * plain arithmetic on UTC milliseconds (a UTC day has no DST); BullMQ's default reads
 * every pattern with cron-parser, whose luxon makes an `Intl.DateTimeFormat` for it, and
 * the first one maps about 9 MB of ICU's time zone data into the worker for good. The
 * same instants (test/unit/kernel/repeat.test.ts checks them against the default); any
 * other schedule goes to the default.
 */
export const repeatStrategy: RepeatStrategy = (millis, opts) => {
  const next =
    opts.pattern && opts.tz === 'UTC' && !opts.startDate ? nextDailyUtc(opts.pattern, millis) : undefined;
  if (next === undefined) return defaultRepeatStrategy(millis, opts);
  // upsertJobScheduler asks with `millis` = now; BullMQ's default answers the clock's now.
  return opts.immediately ? millis : next;
};
