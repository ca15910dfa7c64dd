import { previousLive, promotionOf } from '../../src/releases/domain/history';
import {
  appendRelease,
  chooseContainer,
  imageFor,
  parseReleases,
  RELEASE_HISTORY_CAP,
  versionOf,
  type ReleaseRecord,
} from '../../src/kernel/domain/release';

const REPO = 'registry.azora.world/azora/payment';
const img = (version: string) => `${REPO}:${version}`;
const T0 = Date.UTC(2026, 11, 1, 10, 0);
const MIN = 60_000;

function record(overrides: Partial<ReleaseRecord> & Pick<ReleaseRecord, 'id'>): ReleaseRecord {
  return {
    action: 'deploy',
    version: 'v1',
    image: img('v1'),
    requester: 'U0ENGINEER',
    start: T0,
    end: T0 + MIN,
    result: 'succeeded',
    ...overrides,
  };
}

/** green v1.4.1 went live, then blue v1.5.0 replaced it: the sandbox's story. */
const STORY: ReleaseRecord[] = [
  record({
    id: 'r00000001',
    version: 'v1.4.1',
    image: img('v1.4.1'),
    colour: 'green',
    previous: { colour: 'blue', version: 'v1.4.0', image: img('v1.4.0') },
  }),
  record({
    id: 'r00000002',
    version: 'v1.5.0',
    image: img('v1.5.0'),
    colour: 'blue',
    previous: { colour: 'green', version: 'v1.4.1', image: img('v1.4.1') },
    start: T0 + 10 * MIN,
    end: T0 + 12 * MIN,
  }),
];

describe('what a blue/green rollback goes back to', () => {
  it('is the colour live before the current one, while it still holds what it served then', () => {
    expect(previousLive(STORY, 'blue', img('v1.4.1'))).toEqual({
      ok: true,
      colour: 'green',
      image: img('v1.4.1'),
      version: 'v1.4.1',
      liveSince: T0 + 12 * MIN,
    });
  });

  it('refuses a version the idle colour was prepared with but that was never live', () => {
    expect(previousLive(STORY, 'blue', img('v1.5.1'))).toEqual({
      ok: false,
      reason: 'green holds v1.5.1, which was never live',
    });
  });

  it('refuses when the idle colour holds an older live version than the one live before', () => {
    expect(previousLive(STORY, 'blue', img('v1.4.0'))).toEqual({
      ok: false,
      reason: 'green holds v1.4.0 now, not v1.4.1, which was live before blue',
    });
  });

  it('refuses when nothing is recorded, or the records disagree with the live colour', () => {
    expect(previousLive([], 'blue', img('v1.4.1'))).toEqual({
      ok: false,
      reason: 'nothing is recorded about what was live before blue',
    });
    expect(previousLive(STORY, 'green', img('v1.5.0')).ok).toBe(false);
    expect(previousLive(STORY, 'green', img('v1.5.0'))).toMatchObject({
      reason: expect.stringContaining('switched outside the bot'),
    });
  });

  it('ignores failed releases: a deploy that stopped before the switch moved no traffic', () => {
    const failed = record({
      id: 'r00000003',
      version: 'v1.6.0',
      image: img('v1.6.0'),
      colour: 'green',
      result: 'failed',
      previous: { colour: 'blue', version: 'v1.5.0', image: img('v1.5.0') },
    });
    // The failed deploy left v1.6.0 on green: a rollback must not go there.
    expect(previousLive([...STORY, failed], 'blue', img('v1.6.0'))).toEqual({
      ok: false,
      reason: 'green holds v1.6.0, which was never live',
    });
  });
});

describe('the promotion rule', () => {
  it('counts only a succeeded deploy of the very image', () => {
    const history = [
      record({ id: 'r00000001', image: img('v1.6.0'), version: 'v1.6.0', result: 'failed' }),
      record({ id: 'r00000002', image: img('v1.5.0'), version: 'v1.5.0' }),
      record({ id: 'r00000003', image: img('v1.7.0'), version: 'v1.7.0', action: 'rollback' }),
    ];
    expect(promotionOf(history, img('v1.6.0'))).toBe('never');
    expect(promotionOf(history, img('v1.7.0'))).toBe('never');
    expect(promotionOf(history, img('v1.5.0'))).toBe('released');
  });

  it('does not count a version rolled back out of the environment since, until it is deployed again', () => {
    const rolledBack = [
      record({ id: 'r00000001', image: img('v1.5.0'), version: 'v1.5.0' }),
      record({ id: 'r00000002', image: img('v1.6.0'), version: 'v1.6.0' }),
      record({
        id: 'r00000003',
        action: 'rollback',
        image: img('v1.5.0'),
        version: 'v1.5.0',
        previous: { version: 'v1.6.0', image: img('v1.6.0') },
      }),
    ];
    expect(promotionOf(rolledBack, img('v1.6.0'))).toBe('rolled-back');
    expect(promotionOf(rolledBack, img('v1.5.0'))).toBe('released');
    const again = [...rolledBack, record({ id: 'r00000004', image: img('v1.6.0'), version: 'v1.6.0' })];
    expect(promotionOf(again, img('v1.6.0'))).toBe('released');
  });
});

describe('release records on the cluster', () => {
  it('round-trip through the annotation, ISO times and all', () => {
    const value = appendRelease(STORY.slice(0, 1), STORY[1]!, 20);
    expect(JSON.parse(value)[1].start).toBe(new Date(T0 + 10 * MIN).toISOString());
    expect(parseReleases(value)).toEqual(STORY);
  });

  it('keep the newest records only, replacing a record with the same id (a retried job)', () => {
    let value = '[]';
    for (let i = 0; i < 30; i++) {
      value = appendRelease(parseReleases(value), record({ id: `r${String(i).padStart(8, '0')}` }), 20);
    }
    value = appendRelease(parseReleases(value), record({ id: 'r00000029', result: 'failed' }), 20);
    const kept = parseReleases(value);
    expect(kept).toHaveLength(20);
    expect(kept[0]!.id).toBe('r00000010');
    expect(kept.at(-1)).toMatchObject({ id: 'r00000029', result: 'failed' });
    const many = appendRelease(kept, record({ id: 'r99999999' }), 1_000);
    expect(parseReleases(many).length).toBeLessThanOrEqual(RELEASE_HISTORY_CAP);
  });

  it('drop what anyone with write access could have put there instead of trusting it', () => {
    const valid = JSON.parse(appendRelease([], STORY[0]!, 20))[0];
    const hostile = JSON.stringify([
      valid,
      { ...valid, id: 'x y', requester: '<!channel>' },
      { ...valid, colour: 'purple' },
      { ...valid, start: 'yesterday' },
      'not a record',
      null,
    ]);
    expect(parseReleases(hostile)).toEqual([STORY[0]]);
    expect(parseReleases('{"not":"an array"}')).toEqual([]);
    expect(parseReleases('not json')).toEqual([]);
    expect(parseReleases(undefined)).toEqual([]);
  });
});

describe('versions and images', () => {
  it('names a version by tag or short digest', () => {
    expect(versionOf(img('v1.6.0'))).toBe('v1.6.0');
    expect(versionOf(`${REPO}@sha256:${'a'.repeat(64)}`)).toBe('sha256:aaaaaaaaaaaa');
    expect(versionOf('localhost:5000/app')).toBe('latest');
    expect(versionOf('localhost:5000/app:v2')).toBe('v2');
  });

  it('builds images from the policy repository only', () => {
    expect(imageFor(REPO, 'v1.6.0')).toEqual({ image: img('v1.6.0') });
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    expect(imageFor(REPO, digest)).toEqual({ image: `${REPO}@${digest}` });
    expect(imageFor(REPO, img('v2'))).toEqual({ image: img('v2') });
    expect(imageFor(REPO, 'evil.example/azora/payment:v2')).toEqual({
      refused: `images come from ${REPO} only (the policy), not from evil.example/azora/payment`,
    });
    for (const bad of ['v1;rm', '-v1', 'sha256:abc', `${'v'.repeat(129)}`, 'a b']) {
      expect(imageFor(REPO, bad)).toHaveProperty('refused');
    }
  });

  it('chooses the container running the policy repository, never guessing among several', () => {
    const app = { name: 'payment', image: img('v1') };
    const sidecar = { name: 'envoy', image: 'envoyproxy/envoy:v1.30' };
    expect(chooseContainer([sidecar, app], REPO)).toEqual({ name: 'payment', image: img('v1') });
    expect(chooseContainer([sidecar], REPO)).toHaveProperty('refused');
    expect(chooseContainer([app, { ...app, name: 'copy' }], REPO)).toHaveProperty('refused');
    expect(chooseContainer([sidecar, app], REPO, 'envoy')).toEqual({ name: 'envoy', image: sidecar.image });
    expect(chooseContainer([app], REPO, 'web')).toEqual({
      refused: "it has no container 'web' (the policy's); its containers: payment",
    });
  });
});
