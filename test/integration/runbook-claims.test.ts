import { Redis } from 'ioredis';
import type { OpsRequest, PlanStep } from '../../src/requests/domain/types';
import { PLANNING_MS, RunbookClaims } from '../../src/requests/runbooks';
import { RequestStore } from '../../src/requests/store';
import { OPS } from '../kit/ids';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';

const BAKE_MS = 15 * 60_000;
const SWITCH: PlanStep = {
  kind: 'switch',
  service: 'education',
  serviceName: 'azora-education',
  from: 'blue',
  to: 'green',
};

/**
 * One runbook change per alert episode, against a real Redis: the first press owns the
 * episode from its claim on, whatever the other presses see in between.
 */
describe('runbook claims', () => {
  const prefix = uniquePrefix();
  const redis = new Redis(TEST_REDIS_URL);
  const requests = new RequestStore(redis, prefix);
  let now = 1_800_000_000_000;
  const claims = new RunbookClaims(redis, prefix, requests, BAKE_MS, () => now);
  let episode = 0;
  /** A fresh episode of one alert group per test: the tests share nothing. */
  const nextEpisode = () => ({ group: 'g0123456789abcdef', episode: ++episode });

  afterAll(async () => {
    await dropPrefix(prefix);
    await redis.quit();
  });

  const presser = (i: number) => ({ id: `r${i.toString(16).padStart(8, '0')}`, requester: `U0PRESS${i}` });
  const store = async (claimant: { id: string; requester: string }, fields: Partial<OpsRequest>) => {
    await requests.create({
      id: claimant.id,
      verb: 'rollback',
      environment: 'production',
      services: ['education'],
      args: {},
      requester: claimant.requester,
      channel: OPS,
      source: 'alert',
      status: 'pending-approval',
      createdAt: now,
      plan: [SWITCH],
      ...fields,
    });
  };
  const setStatus = (id: string, fields: Partial<OpsRequest>) =>
    requests.update(id, (current) => ({ next: { ...current, ...fields }, value: null }));

  it('gives an episode to exactly one of many presses planned at once; the others name it as being planned', async () => {
    const { group, episode } = nextEpisode();
    const pressers = Array.from({ length: 20 }, (_, i) => presser(i));
    const answers = await Promise.all(pressers.map((p) => claims.claim(group, episode, p)));
    const winners = pressers.filter((_, i) => answers[i] === undefined);
    expect(winners).toHaveLength(1);
    const [first] = winners;
    for (const answer of answers.filter((a) => a !== undefined))
      expect(answer).toBe(`being planned: request \`${first!.id}\` of <@${first!.requester}>`);
    // A retried plan job of the first finds its own claim; the claim lasts only the planning.
    expect(await claims.claim(group, episode, first!)).toBeUndefined();
    const ttl = await redis.pttl(`${prefix}:runbook:${group}:${episode}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(PLANNING_MS);
  });

  it('refuses while the first waits, runs and bakes; frees the episode once its bake window is over', async () => {
    const { group, episode } = nextEpisode();
    const first = presser(100);
    const second = presser(101);
    expect(await claims.claim(group, episode, first)).toBeUndefined();
    expect(await claims.hold(group, episode, first)).toBeUndefined();
    // Held for the request's life now, not just its planning.
    expect(await redis.pttl(`${prefix}:runbook:${group}:${episode}`)).toBeGreaterThan(PLANNING_MS);
    // Planned and held, not stored yet: still the first's.
    expect(await claims.claim(group, episode, second)).toBe(
      `being planned: request \`${first.id}\` of <@${first.requester}>`,
    );
    await store(first, { status: 'pending-approval' });
    expect(await claims.claim(group, episode, second)).toBe(
      `waiting for approval: request \`${first.id}\` of <@${first.requester}>`,
    );
    await setStatus(first.id, { status: 'running' });
    expect(await claims.claim(group, episode, second)).toMatch(/^running: request `r00000064`/);
    await setStatus(first.id, { status: 'succeeded', finishedAt: now });
    now += BAKE_MS - 1;
    expect(await claims.claim(group, episode, second)).toMatch(
      /^inside its bake window: request `r00000064`/,
    );
    now += 1;
    expect(await claims.claim(group, episode, second)).toBeUndefined();
  });

  it('lets exactly one of many presses take over from a request that ended without a change', async () => {
    const { group, episode } = nextEpisode();
    const first = presser(200);
    expect(await claims.claim(group, episode, first)).toBeUndefined();
    await store(first, { status: 'denied' });
    const pressers = Array.from({ length: 10 }, (_, i) => presser(300 + i));
    const answers = await Promise.all(pressers.map((p) => claims.claim(group, episode, p)));
    const winners = pressers.filter((_, i) => answers[i] === undefined);
    expect(winners).toHaveLength(1);
    for (const answer of answers.filter((a) => a !== undefined))
      expect(answer).toBe(`being planned: request \`${winners[0]!.id}\` of <@${winners[0]!.requester}>`);
  });

  it('is given back only by its holder, when its plan is refused', async () => {
    const { group, episode } = nextEpisode();
    const first = presser(400);
    const second = presser(401);
    expect(await claims.claim(group, episode, first)).toBeUndefined();
    await claims.release(group, episode, second);
    expect(await claims.claim(group, episode, second)).toMatch(/^being planned: request `r00000190`/);
    await claims.release(group, episode, first);
    expect(await claims.claim(group, episode, second)).toBeUndefined();
    // Another episode of the same group is a different claim.
    expect(await claims.claim(group, episode + 1_000, first)).toBeUndefined();
  });

  it('refuses to hold an episode whose planning claim lapsed and another press took', async () => {
    const { group, episode } = nextEpisode();
    const first = presser(500);
    const second = presser(501);
    expect(await claims.claim(group, episode, first)).toBeUndefined();
    // The first's plan job outlived its claim (it stalled past PLANNING_MS).
    await redis.del(`${prefix}:runbook:${group}:${episode}`);
    expect(await claims.claim(group, episode, second)).toBeUndefined();
    expect(await claims.hold(group, episode, first)).toBe(
      `being planned: request \`${second.id}\` of <@${second.requester}>`,
    );
  });
});
