import { SimulatedSlack } from '../../sandbox/slack-api';
import { runBot } from '../kit/process';
import { uniquePrefix } from '../kit/redis';
import { startTestRedisCluster, type TestRedisCluster } from '../kit/redis-cluster';
import { freePort, TestRedisServer } from '../kit/redis-server';
import { waitFor } from '../kit/wait';

/**
 * The built bot as a process, its Redis taken away under it: the log tells the outage
 * once when it starts and once when it ends (not once per reconnect attempt), and SIGTERM
 * still ends the process soon after SHUTDOWN_TIMEOUT, with exit code 1.
 */
const SHUTDOWN_TIMEOUT = 2;
/** Far above what the bot takes (SHUTDOWN_TIMEOUT and a second): only a hang gets here. */
const EXIT_CAP_MS = (SHUTDOWN_TIMEOUT + 15) * 1000;

jest.setTimeout(90_000);

interface LogLine {
  level: string;
  msg: string;
  errors?: number;
  retries?: number;
  [field: string]: unknown;
}

function logLines(stdout: string): LogLine[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startBot(slack: SimulatedSlack, redisEnv: Record<string, string>, prefix = uniquePrefix()) {
  const port = await freePort();
  const bot = runBot(
    {
      PORT: String(port),
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: 'outage-secret',
      SLACK_API_URL: slack.apiUrl,
      REDIS_PREFIX: prefix,
      SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT),
      LOG_LEVEL: 'info',
      ...redisEnv,
    },
    ['all'],
  );
  const readiness = () =>
    bot.child.exitCode !== null
      ? -1
      : fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
  await waitFor(readiness, (status) => status === 200 || status === -1, {
    what: 'the bot to be ready',
    timeoutMs: 30_000,
  });
  if (bot.child.exitCode !== null) throw new Error(`the bot exited while starting: ${bot.output().stderr}`);
  const lines = () => logLines(bot.output().stdout);
  const untilLogged = (msg: string, count = 1) =>
    waitFor(
      () => lines().filter((l) => l.msg === msg),
      (found) => found.length >= count || bot.child.exitCode !== null,
      { what: `log line '${msg}' ×${count}`, timeoutMs: 20_000 },
    ).then(
      (found) => {
        if (found.length < count) throw new Error(`the bot exited: ${JSON.stringify(bot.output())}`);
        return found;
      },
      (err: Error) => {
        const tail = lines()
          .filter((l) => !l.msg.startsWith('job'))
          .slice(-15);
        throw new Error(`${err.message}; the bot's last lines: ${JSON.stringify(tail)}`);
      },
    );
  // /readyz answers while the workers are still starting: an outage then would be a failed start.
  await untilLogged('azora-chatops started');
  /** SIGTERM, then the exit, or 'hung' once the cap has passed. */
  const terminate = async () => {
    bot.child.kill('SIGTERM');
    let cap: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((resolve) => (cap = setTimeout(() => resolve('hung'), EXIT_CAP_MS)));
    const outcome = await Promise.race([bot.exited, hung]);
    clearTimeout(cap);
    if (outcome === 'hung') bot.child.kill('SIGKILL');
    return outcome;
  };
  return { bot, readiness, lines, untilLogged, terminate };
}

const count = (lines: LogLine[], msg: string) => lines.filter((l) => l.msg === msg).length;

const CLOSED_DURING_OUTAGE = 'redis connections closed while redis was unreachable';
const STOPPED = 'stopped; unfinished jobs return to the queue';

/**
 * The outage's last line, with its count, comes out before the process is gone. (It may
 * follow the "stopped" line: ioredis reports a connection's end on a later tick.)
 */
function expectOutageClosedAtStop(lines: LogLine[]): void {
  const closed = lines.findIndex((l) => l.msg === CLOSED_DURING_OUTAGE);
  expect(closed).toBeGreaterThanOrEqual(0);
  expect(lines[closed]!.errors).toBeGreaterThan(1);
  expect(count(lines, CLOSED_DURING_OUTAGE)).toBe(1);
  expect(count(lines, STOPPED)).toBe(1);
}

/**
 * Warnings and errors, by message: none more often than the outages it is about. Lines
 * that happen to fall into an outage (a job failing, say) are let be; a line per reconnect
 * attempt would come dozens of times.
 */
function expectNoRepeats(lines: LogLine[], outages: number): void {
  const byMessage = new Map<string, number>();
  for (const line of lines.filter((l) => l.level === 'warn' || l.level === 'error')) {
    byMessage.set(line.msg, (byMessage.get(line.msg) ?? 0) + 1);
  }
  const repeated = [...byMessage].filter(([, times]) => times > outages);
  expect(repeated).toEqual([]);
}

describe('a Redis outage (single node)', () => {
  let slack: SimulatedSlack;
  let redis: TestRedisServer;

  beforeAll(async () => {
    slack = await new SimulatedSlack().start();
    redis = await TestRedisServer.start();
  });
  afterAll(async () => {
    await redis?.stop();
    await slack?.stop();
  });

  it('is logged once when it starts and once when it ends; SIGTERM during one exits 1', async () => {
    const t = await startBot(slack, { REDIS_URL: redis.url });
    try {
      await redis.down();
      await t.untilLogged('redis unreachable; retrying');
      await waitFor(t.readiness, (status) => status === 503, { what: 'readiness to see the outage' });
      // Some reconnect attempts, each an error on every connection and every worker.
      await sleep(3_000);
      await redis.up();
      const [back] = await t.untilLogged('redis reachable again');
      expect(back!.errors).toBeGreaterThan(3);
      expect(back!.retries).toBeGreaterThan(1);
      await waitFor(t.readiness, (status) => status === 200, { what: 'ready again' });

      // A second outage, still going on when the bot is told to stop.
      await redis.down();
      await t.untilLogged('redis unreachable; retrying', 2);
      await sleep(2_000);
      const outcome = await t.terminate();
      expect(outcome).not.toBe('hung');
      if (outcome === 'hung') return;
      expect(outcome.code).toBe(1);

      const lines = t.lines();
      expect(count(lines, 'redis unreachable; retrying')).toBe(2);
      expect(count(lines, 'redis reachable again')).toBe(1);
      expectOutageClosedAtStop(lines);
      expect(count(lines, 'worker error')).toBe(0);
      // Two outages of several seconds, dozens of reconnect attempts: nothing said per attempt.
      expectNoRepeats(lines, 2);
      expect(outcome.stderr).toBe('');
    } finally {
      if (t.bot.child.exitCode === null && t.bot.child.signalCode === null) t.bot.child.kill('SIGKILL');
    }
  });
});

describe('a Redis Cluster outage', () => {
  let slack: SimulatedSlack;
  let cluster: TestRedisCluster;

  beforeAll(async () => {
    slack = await new SimulatedSlack().start();
    cluster = await startTestRedisCluster();
  });
  afterAll(async () => {
    await cluster?.stop();
    await slack?.stop();
  });

  it('is not ready while the node that holds the bot’s slot is down, though the others answer', async () => {
    const own = await startTestRedisCluster();
    const prefix = uniquePrefix();
    const t = await startBot(slack, { REDIS_CLUSTER_NODES: own.env }, prefix);
    try {
      await own.killOwnerOf(`${prefix}:readyz`);
      await waitFor(t.readiness, (status) => status === 503, {
        what: 'readiness to see the slot gone',
        timeoutMs: 20_000,
      });
    } finally {
      if (t.bot.child.exitCode === null && t.bot.child.signalCode === null) t.bot.child.kill('SIGKILL');
      await t.bot.exited;
      await own.stop();
    }
  });

  it('is logged once, and SIGTERM during it exits 1', async () => {
    const t = await startBot(slack, { REDIS_CLUSTER_NODES: cluster.env });
    try {
      // Every master gone: the whole cluster is away.
      await cluster.stop();
      await t.untilLogged('redis unreachable; retrying');
      await sleep(3_000);
      const outcome = await t.terminate();
      expect(outcome).not.toBe('hung');
      if (outcome === 'hung') return;
      expect(outcome.code).toBe(1);

      const lines = t.lines();
      expect(count(lines, 'redis unreachable; retrying')).toBe(1);
      expectOutageClosedAtStop(lines);
      expect(count(lines, 'worker error')).toBe(0);
      expectNoRepeats(lines, 1);
      expect(outcome.stderr).toBe('');
    } finally {
      if (t.bot.child.exitCode === null && t.bot.child.signalCode === null) t.bot.child.kill('SIGKILL');
    }
  });
});
