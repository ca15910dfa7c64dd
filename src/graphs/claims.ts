import type { RedisClient } from '../kernel/redis';
import { runScript } from '../kernel/script';

/** How long a group episode remembers its graph: longer than any notification of it is repeated. */
const EPISODE_TTL_MS = 2 * 86_400_000;
const DONE = 'done';

/**
 * Claims a job takes on an episode's graph: `SET NX` with the job's id, so a retry of the
 * same job (a stalled worker's) goes on where another job stops; `done` once posted.
 * KEYS: the episode's key. ARGV: job id, ttl.
 * Returns 'mine', 'done' or 'taken'.
 */
const CLAIM_EPISODE = `
local held = redis.call('GET', KEYS[1])
if not held then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 'mine'
end
if held == ARGV[1] then return 'mine' end
if held == '${DONE}' then return 'done' end
return 'taken'
`;

export type EpisodeClaim = 'mine' | 'done' | 'taken';

/**
 * One graph per group episode, and the Graph button at most once per gap per group, across
 * every worker. The keys expire on their own (see the TTLs), so nothing here is left behind.
 */
export class GraphClaims {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private episodeKey = (group: string, episode: number) => `${this.prefix}:graph:${group}:${episode}`;
  private redrawKey = (group: string) => `${this.prefix}:graph-redraw:${group}`;

  async claimEpisode(group: string, episode: number, jobId: string): Promise<EpisodeClaim> {
    return (await runScript(
      this.redis,
      CLAIM_EPISODE,
      1,
      this.episodeKey(group, episode),
      jobId,
      String(EPISODE_TTL_MS),
    )) as EpisodeClaim;
  }

  /** The episode's graph is in its thread (or its failure line is): no other job draws it. */
  async episodeDone(group: string, episode: number): Promise<void> {
    await this.redis.set(this.episodeKey(group, episode), DONE, 'PX', EPISODE_TTL_MS);
  }

  /** Takes the group's redraw turn; false while the last one is younger than `gapMs`. */
  async claimRedraw(group: string, gapMs: number): Promise<boolean> {
    return (await this.redis.set(this.redrawKey(group), '1', 'PX', gapMs, 'NX')) === 'OK';
  }

  /** How long until the group may be drawn again by the button (0: now), for the answer to the presser. */
  async redrawWait(group: string): Promise<number> {
    return Math.max(0, await this.redis.pttl(this.redrawKey(group)));
  }
}
