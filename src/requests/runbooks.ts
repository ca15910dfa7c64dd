import type { OpsRequest } from './domain/types';
import { trafficMoves } from './domain/traffic';
import type { RedisClient } from '../kernel/redis';
import { keys, type Keys } from '../kernel/keys';
import type { RequestStore } from './store';
import { runScript } from '../kernel/script';

/** Long enough for the approval, the change and its bake window; a finished holder is judged by its state. */
const RETENTION_MS = 86_400_000;
/**
 * How long a claim whose request is not stored yet counts as "being planned": a plan job's
 * attempts, backoff and a stalled-job takeover fit well inside it, and a plan job that died
 * for good frees the episode after it instead of after a day.
 */
export const PLANNING_MS = 5 * 60_000;
const ACTIVE: ReadonlyArray<OpsRequest['status']> = ['planning', 'pending-approval', 'approved', 'running'];
/** How many finished holders one press replaces in a row before it counts the episode as busy. */
const MAX_TAKEOVERS = 5;

/**
 * Sets the claim to ARGV[1] for ARGV[2] ms when it is free, ours already, or still held by
 * ARGV[3] (a holder found finished); otherwise returns who holds it. One script, so two
 * presses can never both see the claim free or both replace the same finished holder.
 */
const TAKE = `
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] and held ~= ARGV[3] then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** The request that claims an episode: its id is decided before it is planned or stored. */
export interface Claimant {
  id: string;
  requester: string;
}

/**
 * Which request a runbook button made for an alert group's episode, so that a second Roll
 * back, Switch back or Scale up is refused while the first is planned, waits, runs, or
 * bakes. The first press owns the episode from the moment it claims it: a holder whose
 * request is not stored yet is being planned, not absent.
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

  /**
   * Claims the episode while the request is planned (a retried plan job finds its own
   * claim); else says what the first request is doing, naming it.
   */
  claim(group: string, episode: number, claimant: Claimant): Promise<string | undefined> {
    return this.take(group, episode, claimant, PLANNING_MS);
  }

  /**
   * Keeps the claim for the request's life once it is planned, just before it is stored.
   * Undefined when it is still ours; else (ours lapsed and another press took it) who has it.
   */
  hold(group: string, episode: number, claimant: Claimant): Promise<string | undefined> {
    return this.take(group, episode, claimant, RETENTION_MS);
  }

  /** Gives the episode back when the claimant's request ends without a change; a no-op for anyone else. */
  async release(group: string, episode: number, claimant: Claimant): Promise<void> {
    await runScript(this.redis, RELEASE, 1, this.keys.runbookOf(group, episode), valueOf(claimant));
  }

  private async take(
    group: string,
    episode: number,
    claimant: Claimant,
    ttlMs: number,
  ): Promise<string | undefined> {
    const key = this.keys.runbookOf(group, episode);
    let finished = '';
    for (let round = 0; round < MAX_TAKEOVERS; round++) {
      const held = (await runScript(this.redis, TAKE, 1, key, valueOf(claimant), String(ttlMs), finished)) as
        string | null;
      if (held === null) return undefined;
      const first = claimantOf(held);
      const request = await this.requests.get(first.id);
      const busy = request ? this.busy(request) : 'being planned';
      if (busy)
        return `${busy}: request \`${first.id}\`${first.requester ? ` of <@${first.requester}>` : ''}`;
      finished = held;
    }
    // The holder kept changing under us, each one finished by the time it was read: whoever
    // holds it now was planned a moment ago, so this press is the second.
    const held = await this.redis.get(key);
    return `being planned: request \`${held ? claimantOf(held).id : '?'}\``;
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

const valueOf = ({ id, requester }: Claimant): string => `${id} ${requester}`;

/** A claim's value; one written before claims named their requester holds the id alone. */
function claimantOf(value: string): Partial<Claimant> & { id: string } {
  const [id = value, requester] = value.split(' ');
  return requester ? { id, requester } : { id };
}
