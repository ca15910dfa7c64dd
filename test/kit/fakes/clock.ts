import type { Clock } from '../../../src/kernel/clock';

/** The injected clock, moved only by the test: no sleeps, no timed assertions. */
export class ManualClock implements Clock {
  constructor(private time: number) {}

  now(): number {
    return this.time;
  }

  advance(ms: number): number {
    this.time += ms;
    return this.time;
  }

  set(time: number): void {
    this.time = time;
  }
}
