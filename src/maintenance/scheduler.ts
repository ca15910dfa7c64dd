import { randomBytes } from 'node:crypto';
import type { Policy } from '../config/policy';
import { nextFirstSundays } from './domain/time';
import { noticesFor, type MaintenanceWindow } from './domain/window';
import type { MaintenanceStore } from './store';

/** Queues one announcement of a window to run at `delayMs` from now, exactly once (a deterministic job id). */
export type NoticeScheduler = (windowId: string, notice: string, delayMs: number) => Promise<void>;
export type NoticeCanceller = (windowId: string, notice: string) => Promise<void>;

export const newWindowId = (): string => `m${randomBytes(3).toString('hex')}`;

/** Windows and their announcements: stored in Redis, announced by delayed BullMQ jobs, never by timers in memory. */
export class MaintenanceScheduler {
  constructor(
    private readonly policy: Policy,
    private readonly store: MaintenanceStore,
    private readonly schedule: NoticeScheduler,
    private readonly cancel: NoticeCanceller,
    private readonly now: () => number,
  ) {}

  /** Stores the window and queues its announcements; false when it existed already. */
  async plan(window: MaintenanceWindow): Promise<boolean> {
    if (!(await this.store.create(window))) return false;
    const now = this.now();
    for (const notice of noticesFor(window, this.policy.maintenance.notices, now)) {
      await this.schedule(window.id, notice.name, notice.at - now);
    }
    return true;
  }

  /** Cancels a window that has not ended: its pending announcements are removed. */
  async cancelWindow(id: string): Promise<MaintenanceWindow | undefined> {
    const { changed, window } = await this.store.update(id, (w) =>
      w.status === 'scheduled' || w.status === 'active' ? { ...w, status: 'cancelled' } : undefined,
    );
    if (!changed || !window) return undefined;
    for (const notice of noticesFor(window, this.policy.maintenance.notices, 0))
      await this.cancel(id, notice.name);
    return window;
  }

  /** Ends a window now, before its time (the work it was for is done): its remaining announcements go. */
  async endEarly(id: string): Promise<MaintenanceWindow | undefined> {
    const now = this.now();
    const { changed, window } = await this.store.update(id, (w) =>
      w.status === 'scheduled' || w.status === 'active'
        ? { ...w, status: 'done', end: Math.max(w.start, now) }
        : undefined,
    );
    if (!changed || !window) return undefined;
    for (const notice of noticesFor(window, this.policy.maintenance.notices, 0))
      await this.cancel(id, notice.name);
    return window;
  }

  /** Moves a window that has not started: its announcements are removed and queued again for the new times. */
  async move(id: string, start: number, durationMs: number): Promise<MaintenanceWindow | undefined> {
    // Moved first, then re-timed: a window that started meanwhile keeps its notices (its end).
    const before = await this.store.get(id);
    const { changed, window } = await this.store.update(id, (w) =>
      w.status === 'scheduled' ? { ...w, start, end: start + durationMs } : undefined,
    );
    if (!changed || !window || !before) return undefined;
    for (const notice of noticesFor(before, this.policy.maintenance.notices, 0))
      await this.cancel(id, notice.name);
    const now = this.now();
    for (const notice of noticesFor(window, this.policy.maintenance.notices, now)) {
      await this.schedule(window.id, notice.name, notice.at - now);
    }
    return window;
  }

  /** Keeps the policy's recurring window planned for the next two months; safe to run any number of times. */
  async planRecurring(): Promise<string[]> {
    const rule = this.policy.maintenance.recurring;
    if (!rule) return [];
    const planned: string[] = [];
    for (const start of nextFirstSundays(this.now(), rule.time, 2)) {
      const id = `mrec-${new Date(start).toISOString().slice(0, 10).replace(/-/g, '')}`;
      const created = await this.plan({
        id,
        environment: rule.environment,
        start,
        end: start + rule.duration,
        reason: rule.reason,
        requester: 'policy',
        status: 'scheduled',
        recurring: true,
        createdAt: this.now(),
      });
      if (created) planned.push(id);
    }
    return planned;
  }
}
