import { Redis } from 'ioredis';
import { runScript } from '../../src/kernel/script';
import { TestRedisServer } from '../kit/redis-server';

/** Scripts by SHA on the real Redis: loaded on first use, and again after Redis forgot them. */
describe('runScript', () => {
  const INCR_BY = `return redis.call('INCRBY', KEYS[1], ARGV[1])`;
  // A server of its own: SCRIPT FLUSH must not reach the other suites' scripts.
  let server: TestRedisServer;
  let redis: Redis;
  const sent: string[] = [];

  beforeAll(async () => {
    server = await TestRedisServer.start();
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const sendCommand = redis.sendCommand.bind(redis);
    jest.spyOn(redis, 'sendCommand').mockImplementation((command) => {
      sent.push(command.name);
      return sendCommand(command);
    });
  });
  afterAll(async () => {
    await redis.quit();
    await server.stop();
  });

  it('sends only the SHA once Redis knows the script, and loads it again after SCRIPT FLUSH', async () => {
    const key = 'counter';
    expect(await runScript(redis, INCR_BY, 1, key, 2)).toBe(2);
    expect(await runScript(redis, INCR_BY, 1, key, 3)).toBe(5);
    // The first call found it unknown and loaded it; the second is by SHA alone.
    const loads = () => sent.filter((name) => name === 'eval').length;
    expect(loads()).toBe(1);
    expect(sent.at(-1)).toBe('evalsha');

    await redis.script('FLUSH');
    sent.length = 0;
    expect(await runScript(redis, INCR_BY, 1, key, 4)).toBe(9);
    expect(loads()).toBe(1);
    expect(await runScript(redis, INCR_BY, 1, key, 1)).toBe(10);
    expect(loads()).toBe(1);
    expect(sent.at(-1)).toBe('evalsha');
  });

  it('passes on an error the script raises', async () => {
    await expect(runScript(redis, `return redis.error_reply('no such thing')`, 0)).rejects.toThrow(
      'no such thing',
    );
  });
});
