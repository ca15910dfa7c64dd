import type { OpsRequest } from './domain/types';
import { trafficMoves } from './domain/traffic';
import type { RedisClient } from '../kernel/redis';
import { keys, type Keys } from '../kernel/keys';
import type { RequestStore } from './store';

const RETENTION_MS = 86_400_000;
const ACTIVE: ReadonlyArray<OpsRequest['status']> = ['planning', 'pending-approval', 'approved', 'running'];

/**
 * Which request a runbook button made for an alert group's episode, so that a second Roll
 * back or Switch back is refused while the first waits, runs, or bakes.
 */
export class RunbookClaims {
  private readonly keys: Keys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly requests: RequestStore,
    private readonly bakeWindowMs: number,
    private readonly now: () => number,
  ) {
    this.keys = keys(prefix);
  }

  /** Claims the episode for `requestId`; else says what the first request is doing (waiting, running, baking). */
  async claim(group: string, episode: number, requestId: string): Promise<string | undefined> {
    const key = this.keys.runbookOf(group, episode);
    if ((await this.redis.set(key, requestId, 'PX', RETENTION_MS, 'NX')) === 'OK') return undefined;
    const holder = await this.redis.get(key);
    if (holder === requestId) return undefined;
    const first = holder ? await this.requests.get(holder) : undefined;
    const busy = first ? this.busy(first) : undefined;
    if (busy) return `${busy}: request \`${first!.id}\` of <@${first!.requester}>`;
    await this.redis.set(key, requestId, 'PX', RETENTION_MS);
    return undefined;
  }

  private busy(request: OpsRequest): string | undefined {
    if (request.status === 'pending-approval') return 'waiting for approval';
    if (ACTIVE.includes(request.status)) return request.status;
    const baking =
      request.status === 'succeeded' &&
      trafficMoves(request.plan).length > 0 &&
      (request.finishedAt ?? 0) + this.bakeWindowMs > this.now();
    return baking ? 'inside its bake window' : undefined;
  }
}
