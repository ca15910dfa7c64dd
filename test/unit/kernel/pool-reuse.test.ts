import { PoolReuse } from '../../../src/kernel/kubernetes/connections';

class FakePool {
  closed = 0;
  constructor(readonly name: string) {}
  async close(): Promise<void> {
    this.closed += 1;
  }
}

describe('PoolReuse: one connection pool per cluster for a while', () => {
  it('lends the first pool to every call within its lifetime, and closes none', () => {
    let now = 1_000;
    const reuse = new PoolReuse<FakePool>(60_000, () => now);
    const first = new FakePool('first');
    expect(reuse.lend(first)).toBe(first);
    now += 59_999;
    const second = new FakePool('second');
    expect(reuse.lend(second)).toBe(first);
    expect(first.closed + second.closed).toBe(0);
  });

  it('after its lifetime takes the fresh pool and closes the old one once', () => {
    let now = 0;
    const reuse = new PoolReuse<FakePool>(60_000, () => now);
    const first = new FakePool('first');
    reuse.lend(first);
    now = 60_000;
    const second = new FakePool('second');
    expect(reuse.lend(second)).toBe(second);
    expect(first.closed).toBe(1);
    expect(reuse.lend(new FakePool('third'))).toBe(second);
    expect(first.closed).toBe(1);
    expect(second.closed).toBe(0);
  });
});
