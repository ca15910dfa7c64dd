import { defaultRepeatStrategy } from 'bullmq';
import { nextDailyUtc, repeatStrategy } from '../../../src/kernel/queue/repeat';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A small deterministic generator: the same instants on every run. */
function* instants(count: number, seed = 20261203): Generator<number> {
  let state = seed;
  const next = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const from = Date.UTC(2024, 0, 1);
  for (let i = 0; i < count; i += 1) yield Math.floor(from + next() * 3 * 365 * DAY);
}

describe('the daily repeat strategy', () => {
  // The schedules the bot keeps, a policy's backup times among them.
  const patterns = ['0 0 2 * * *', '0 0 3 * * *', '0 30 23 * * *', '0 59 0 * * *', '0 5 12 * * *'];

  it('gives the instant BullMQ’s default (cron-parser) gives, for daily UTC patterns', async () => {
    for (const pattern of patterns) {
      const [, minute, hour] = pattern.split(' ').map(Number);
      const at = (hour! * 60 + minute!) * 60_000;
      // Random instants, and each one's day at the schedule's minute and a step either side.
      const days = [...instants(200)].flatMap((t) => {
        const onTime = Math.floor(t / DAY) * DAY + at;
        return [t, onTime, onTime - 1, onTime + 1, onTime + 999, onTime + 1_000, onTime - 60_000];
      });
      for (const millis of days) {
        const opts = { pattern, tz: 'UTC' };
        expect([pattern, millis, await repeatStrategy(millis, opts)]).toEqual([
          pattern,
          millis,
          defaultRepeatStrategy(millis, opts),
        ]);
      }
    }
  });

  it('runs at once when asked to, as the default does', async () => {
    const millis = Date.UTC(2026, 11, 3, 7, 0, 0);
    expect(await repeatStrategy(millis, { pattern: '0 0 3 * * *', tz: 'UTC', immediately: true })).toBe(
      millis,
    );
  });

  it('leaves any other schedule to the default', async () => {
    const millis = Date.UTC(2026, 11, 3, 7, 0, 0);
    for (const opts of [
      { pattern: '0 */5 * * * *', tz: 'UTC' },
      { pattern: '0 0 2 * * 1', tz: 'UTC' },
      { pattern: '0 0 2 * * *', tz: 'Europe/Berlin' },
      { pattern: '0 0 2 * * *', tz: 'UTC', startDate: millis + 3 * DAY },
    ]) {
      expect(
        nextDailyUtc(opts.pattern, millis) === undefined || opts.tz !== 'UTC' || 'startDate' in opts,
      ).toBe(true);
      expect(await repeatStrategy(millis, opts)).toBe(defaultRepeatStrategy(millis, opts));
    }
    expect(await repeatStrategy(millis, { pattern: '0 */5 * * * *', tz: 'UTC' })).toBe(millis + 5 * 60_000);
    expect(await repeatStrategy(millis, { pattern: '0 0 2 * * *', tz: 'Europe/Berlin' })).toBe(
      Date.UTC(2026, 11, 4, 1, 0, 0),
    );
  });

  it('reads only daily patterns', () => {
    const millis = Date.UTC(2026, 11, 3, 7, 0, 0);
    expect(nextDailyUtc('0 0 2 * * *', millis)).toBe(Date.UTC(2026, 11, 4, 2, 0, 0));
    expect(nextDailyUtc('0 30 9 * * *', millis)).toBe(Date.UTC(2026, 11, 3, 9, 30, 0));
    for (const pattern of [
      '0 60 2 * * *',
      '0 0 24 * * *',
      '5 0 2 * * *',
      '0 0 2 * * 1',
      '0 0 2 1 * *',
      '0 00 2 * * *',
    ]) {
      expect([pattern, nextDailyUtc(pattern, millis)]).toEqual([pattern, undefined]);
    }
  });
});
