import { Redis } from 'ioredis';
import { Refusal } from '../../src/kernel/domain/refusal';
import type { MaintenanceWindow } from '../../src/maintenance/domain/window';
import { MAX_UPCOMING_WINDOWS, MaintenanceStore } from '../../src/maintenance/store';
import { ENGINEER } from '../kit/ids';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';
import { MaintenanceScheduler } from '../../src/maintenance/scheduler';
import { testPolicy } from '../kit/policy';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = 1_800_000_000_000;

/**
 * The maintenance start index against a real Redis: bounded, yet never at the cost of a
 * window that has not happened yet.
 */
describe('the maintenance index', () => {
  const prefix = uniquePrefix();
  const redis = new Redis(TEST_REDIS_URL);
  const store = new MaintenanceStore(redis, prefix);
  const index = `${prefix}:maintenance:by-start`;

  afterAll(async () => {
    await dropPrefix(prefix);
    await redis.quit();
  });

  const window = (id: string, start: number, fields: Partial<MaintenanceWindow> = {}): MaintenanceWindow => ({
    id,
    environment: 'staging',
    start,
    end: start + HOUR,
    reason: 'drill',
    requester: ENGINEER,
    status: 'scheduled',
    recurring: false,
    createdAt: NOW,
    ...fields,
  });
  const refusalOf = async (promise: Promise<unknown>) => {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Refusal);
    return (err as Refusal).reason;
  };

  it('refuses a window past the cap of windows to come, naming it, and keeps the nearest ones', async () => {
    // A near window first, then a flood of far-future ones.
    expect(await store.create(window('mnear', NOW + HOUR))).toBe(true);
    for (let i = 1; i < MAX_UPCOMING_WINDOWS; i++) {
      expect(await store.create(window(`mfar${i}`, NOW + 300 * DAY + i * HOUR))).toBe(true);
    }
    expect(await refusalOf(store.create(window('mone-more', NOW + 2 * HOUR)))).toBe(
      `${MAX_UPCOMING_WINDOWS} maintenance windows are to come already, the most the bot keeps; cancel one first`,
    );
    expect(await store.get('mone-more')).toBeUndefined();
    expect(await redis.zcard(index)).toBe(MAX_UPCOMING_WINDOWS);
    const upcoming = await store.upcoming(NOW);
    expect(upcoming).toHaveLength(MAX_UPCOMING_WINDOWS);
    expect(upcoming[0]!.id).toBe('mnear');

    // The policy's recurring window is planned even at the cap.
    expect(await store.create(window('mrec-20270103', NOW + 5 * DAY, { recurring: true }))).toBe(true);
    // It counts like any other: two cancelled windows leave the index, room for one more.
    await store.update('mfar1', (w) => ({ ...w, status: 'cancelled' }));
    await store.update('mfar2', (w) => ({ ...w, status: 'cancelled' }));
    expect(await store.create(window('mone-more', NOW + 2 * HOUR))).toBe(true);
    expect(await refusalOf(store.create(window('mtwo-more', NOW + 3 * HOUR)))).toContain(
      String(MAX_UPCOMING_WINDOWS),
    );
    expect((await store.upcoming(NOW)).slice(0, 3).map((w) => w.id)).toEqual([
      'mnear',
      'mone-more',
      'mrec-20270103',
    ]);
  });

  it('lets windows that are over leave the index, and follows a move', async () => {
    // Time passes: everything up to the far windows is over, and a new window comes in.
    const later = NOW + 200 * DAY;
    expect(await store.create(window('mlater', later + DAY, { createdAt: later }))).toBe(true);
    const indexed = await redis.zrange(index, 0, -1);
    expect(indexed).not.toContain('mnear');
    expect(indexed).not.toContain('mone-more');
    expect(indexed).toContain('mlater');
    expect(indexed).toHaveLength(MAX_UPCOMING_WINDOWS - 2);
    // The windows themselves stay readable by id (their notices find them) until their TTL.
    expect(await store.get('mnear')).toBeDefined();

    // Moved a year on: indexed at its new start, so it is still listed after its old one is over.
    await store.update('mlater', (w) => ({ ...w, start: later + 400 * DAY, end: later + 400 * DAY + HOUR }));
    expect(Number(await redis.zscore(index, 'mlater'))).toBe(later + 400 * DAY);
    expect((await store.upcoming(later + 350 * DAY)).map((w) => w.id)).toEqual(['mlater']);
    // Done: it leaves the index.
    await store.update('mlater', (w) => ({ ...w, status: 'done' }));
    expect(await redis.zscore(index, 'mlater')).toBeNull();
    expect(await redis.pttl(index)).toBeGreaterThan(0);
  });

  it('finds the window running now in an environment by the started ones alone', async () => {
    const at = NOW + 900 * DAY;
    await store.create(window('mrunning', at - HOUR / 2, { environment: 'production', createdAt: at }));
    await store.create(window('mstaging', at - HOUR / 2, { createdAt: at }));
    await store.create(window('msoon', at + HOUR, { environment: 'production', createdAt: at }));
    await store.create(window('mover', at - 2 * HOUR, { environment: 'production', createdAt: at }));

    expect((await store.activeIn('production', at))?.id).toBe('mrunning');
    expect((await store.activeIn('staging', at))?.id).toBe('mstaging');
    expect(await store.activeIn('production', at + HOUR / 2)).toBeUndefined();
    expect((await store.activeIn('production', at + HOUR))?.id).toBe('msoon');

    // Asked at once (a batch of alert groups): one read, and each still answered for its own time.
    const reads = jest.spyOn(redis, 'zrangebyscore');
    const answers = await Promise.all([
      store.activeIn('production', at),
      store.activeIn('staging', at + 1),
      store.activeIn('production', at + 2),
      store.activeIn('production', at + HOUR / 2),
      store.activeIn('production', at + HOUR),
      store.activeIn('production', at - 1),
    ]);
    expect(answers.map((w) => w?.id)).toEqual([
      'mrunning',
      'mstaging',
      'mrunning',
      undefined,
      'msoon',
      'mrunning',
    ]);
    // A read answers for its own time and the minute after; the other three are read apart.
    expect(reads).toHaveBeenCalledTimes(4);
    reads.mockRestore();

    await store.update('mrunning', (w) => ({ ...w, status: 'cancelled' }));
    expect(await store.activeIn('production', at)).toBeUndefined();
  });
});

describe('moving a window', () => {
  const prefix = uniquePrefix();
  const redis = new Redis(TEST_REDIS_URL);
  const store = new MaintenanceStore(redis, prefix);
  afterAll(async () => {
    await dropPrefix(prefix);
    await redis.quit();
  });

  it('keeps the notices of a window that started before the move could take it (its end among them)', async () => {
    const cancelled: string[] = [];
    const scheduled: string[] = [];
    // Its start job turns it active right after the move has read it.
    const racing = new (class extends MaintenanceStore {
      override async get(id: string) {
        const read = await super.get(id);
        await this.update(id, (w) => ({ ...w, status: 'active' }));
        return read;
      }
    })(redis, prefix);
    const scheduler = new MaintenanceScheduler(
      testPolicy(),
      racing,
      async (_id, notice) => void scheduled.push(notice),
      async (_id, notice) => void cancelled.push(notice),
      () => NOW,
    );
    const at = NOW + 2 * DAY;
    await store.create({
      id: 'mmove1',
      environment: 'staging',
      start: at,
      end: at + HOUR,
      reason: 'drill',
      requester: ENGINEER,
      status: 'scheduled',
      recurring: false,
      createdAt: NOW,
    });
    expect(await scheduler.move('mmove1', at + DAY, HOUR)).toBeUndefined();
    expect(cancelled).toEqual([]);
    expect(scheduled).toEqual([]);
    expect((await store.get('mmove1'))!.start).toBe(at);
  });
});
