import { Redis } from 'ioredis';
import { AlertStore } from '../../src/alerts/store';
import { digestMessage } from '../../src/alerts/views';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';

describe('a storm digest in Redis', () => {
  const prefix = uniquePrefix();
  let redis: Redis;
  let store: AlertStore;
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    store = new AlertStore(redis, prefix);
  });
  afterAll(async () => {
    await dropPrefix(prefix);
    await redis.quit();
  });

  const firing = (service: string) => `:red_circle: FIRING:1 *HighCPU* — ${service} in production: CPU high`;
  const resolved = (service: string) =>
    `:large_green_circle: RESOLVED *HighCPU* — ${service} in production: CPU high`;

  it('lists firing groups first, then in code-point order, and counts what it does not show', async () => {
    await store.setDigestLine('d1', 'g-b', firing('b'), true);
    await store.setDigestLine('d1', 'g-z', resolved('z'), false);
    await store.setDigestLine('d1', 'g-a', resolved('a'), false);
    await store.setDigestLine('d1', 'g-C', firing('C'), true);
    await store.setDigestLine('d1', 'g-c', firing('c'), true);
    const view = await store.digestView('d1', 3);
    expect(view).toEqual({ total: 5, firing: 3, lines: [firing('C'), firing('b'), firing('c')] });
    expect(digestMessage(view).text).toMatch(/5 groups in this channel \(3 firing\)[\s\S]*…and 2 more$/);
  });

  it('moves a group that resolves, instead of listing it twice', async () => {
    await store.setDigestLine('d1', 'g-C', resolved('C'), false);
    const view = await store.digestView('d1', 10);
    expect(view.total).toBe(5);
    expect(view.firing).toBe(2);
    expect(view.lines).toEqual([firing('b'), firing('c'), resolved('C'), resolved('a'), resolved('z')]);
  });

  it('keeps two groups with the same line apart', async () => {
    await store.setDigestLine('d2', 'g-1', firing('x'), true);
    await store.setDigestLine('d2', 'g-2', firing('x'), true);
    const view = await store.digestView('d2', 10);
    expect(view).toEqual({ total: 2, firing: 2, lines: [firing('x'), firing('x')] });
  });
});
