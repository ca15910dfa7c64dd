import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import { loadConfig } from '../../src/config/env';
import { createLogger } from '../../src/kernel/log';
import { closeRedis, connectRedis, type RedisClient } from '../../src/kernel/redis';
import { SimulatedSlack } from '../../sandbox/slack-api';
import { runBot } from '../kit/process';
import { uniquePrefix } from '../kit/redis';
import { startSecuredTestRedisCluster, type TestRedisCluster } from '../kit/redis-cluster';
import {
  freePort,
  makeTestCertificates,
  SecuredTestRedisServer,
  tlsServerArgs,
  type TestCertificates,
} from '../kit/redis-server';
import { waitFor } from '../kit/wait';

/**
 * REDIS_USERNAME, REDIS_PASSWORD and REDIS_TLS_* (or credentials and rediss:// in
 * REDIS_URL) against real redis-servers of the test's own: ACL users, a password, TLS with
 * a CA made here, a client certificate, and a three-master cluster over TLS.
 */
jest.setTimeout(60_000);

const DEFAULT_PASSWORD = 'default-secret-1';
const AZORA_PASSWORD = 'azora-secret-2';
/** Characters a URL must escape, to see that REDIS_URL's credentials are decoded. */
const ODD_PASSWORD = 'p@ss:w/rd %41';
const aclUser = (name: string, password: string) => [
  '--user',
  name,
  'on',
  `>${password}`,
  '~*',
  '&*',
  '+@all',
];

/** A logger whose lines the test reads. */
function capturedLogger() {
  const lines: Array<{ level: string; msg: string; err?: string }> = [];
  const raw: string[] = [];
  const logger = createLogger('info', {
    write: (line: string) => {
      raw.push(line);
      lines.push(JSON.parse(line) as { level: string; msg: string; err?: string });
    },
  });
  return { logger, lines, raw };
}

const clients: RedisClient[] = [];
function connect(
  env: NodeJS.ProcessEnv,
  kind: 'commands' | 'blocking' = 'commands',
  logger = createLogger('silent'),
) {
  const client = connectRedis(loadConfig(env), kind, logger);
  clients.push(client);
  return client;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map(closeRedis));
});

const whoami = (client: RedisClient) => client.call('ACL', 'WHOAMI');

/** A job through BullMQ on the bot's own connections: a Queue on `commands`, a Worker on `blocking`. */
async function jobRoundTrip(env: NodeJS.ProcessEnv): Promise<unknown> {
  const prefix = uniquePrefix();
  const queue = new Queue('probe', { connection: connect(env, 'commands'), prefix });
  const worker = new Worker('probe', async (job) => `done ${(job.data as { n: number }).n}`, {
    connection: connect(env, 'blocking'),
    prefix,
  });
  try {
    const finished = new Promise((resolve, reject) => {
      worker.on('completed', (_job, result) => resolve(result));
      worker.on('failed', (_job, err) => reject(err));
    });
    await worker.waitUntilReady();
    await queue.add('probe', { n: 7 });
    return await finished;
  } finally {
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

/**
 * What a connection that cannot get in says: the one log line, and what became of its
 * first command: an error, or 'waiting' (a cluster queues it until it gets in).
 */
async function refusal(env: NodeJS.ProcessEnv) {
  const { logger, lines, raw } = capturedLogger();
  const client = connect(env, 'commands', logger);
  const first = client.ping().then(
    () => 'answered' as const,
    (err: Error) => err,
  );
  await waitFor(
    () => lines.length,
    (n) => n > 0,
    { what: 'the refusal to be logged' },
  );
  // A few reconnect attempts more: still the one line.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const error = await Promise.race([first, 'waiting' as const]);
  return { error, lines, raw };
}

describe('start-up with a REDIS_TLS_* file it cannot use', () => {
  it('stops with one line naming the variable, exit code 1', async () => {
    const { code, stderr } = await runBot({ REDIS_TLS_CA_FILE: '/no/such/redis-ca.pem' }).exited;
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      'azora-chatops: environment REDIS_TLS_CA_FILE: cannot read /no/such/redis-ca.pem (ENOENT)',
    );
  });
});

describe('Redis with a password and ACL users', () => {
  let server: SecuredTestRedisServer;

  beforeAll(async () => {
    server = await SecuredTestRedisServer.start(() => [
      '--requirepass',
      DEFAULT_PASSWORD,
      ...aclUser('azora', AZORA_PASSWORD),
      ...aclUser('odd', ODD_PASSWORD),
    ]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const url = (userinfo = '') => server.url.replace('://', `://${userinfo}`);

  it.each([
    ['REDIS_PASSWORD alone, for the default user', () => ({ REDIS_PASSWORD: DEFAULT_PASSWORD }), 'default'],
    [
      'REDIS_USERNAME and REDIS_PASSWORD',
      () => ({ REDIS_USERNAME: 'azora', REDIS_PASSWORD: AZORA_PASSWORD }),
      'azora',
    ],
    ['credentials in REDIS_URL', () => ({ REDIS_URL: url(`azora:${AZORA_PASSWORD}@`) }), 'azora'],
    [
      'escaped credentials in REDIS_URL',
      () => ({ REDIS_URL: url(`odd:${encodeURIComponent(ODD_PASSWORD)}@`) }),
      'odd',
    ],
    [
      'the variables over REDIS_URL',
      () => ({
        REDIS_URL: url('odd:not-this-one@'),
        REDIS_USERNAME: 'azora',
        REDIS_PASSWORD: AZORA_PASSWORD,
      }),
      'azora',
    ],
    [
      'REDIS_PASSWORD over the password in REDIS_URL',
      () => ({ REDIS_URL: url('azora:stale-password@'), REDIS_PASSWORD: AZORA_PASSWORD }),
      'azora',
    ],
  ])('logs in with %s', async (_how, env, user) => {
    const client = connect({ REDIS_URL: server.url, ...env() });
    expect(await whoami(client)).toBe(user);
  });

  it('runs a BullMQ job as an ACL user, on both kinds of connection', async () => {
    expect(await jobRoundTrip({ REDIS_URL: url(`azora:${AZORA_PASSWORD}@`) })).toBe('done 7');
  });

  it('says so once when the password is wrong, and never prints it', async () => {
    const wrong = 'wrong-secret-3';
    const { error, lines, raw } = await refusal({
      REDIS_URL: server.url,
      REDIS_USERNAME: 'azora',
      REDIS_PASSWORD: wrong,
    });
    expect(error).toEqual(expect.objectContaining({ message: expect.stringMatching(/^WRONGPASS/) }));
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: 'redis refused the credentials (REDIS_USERNAME, REDIS_PASSWORD or those in REDIS_URL); retrying',
        err: expect.stringMatching(/^WRONGPASS invalid username-password pair/),
      }),
    ]);
    expect(raw.join('')).not.toContain(wrong);
  });

  it('says so when no credentials are given', async () => {
    const { error, lines } = await refusal({ REDIS_URL: server.url });
    expect(error).toEqual(expect.objectContaining({ message: expect.stringMatching(/^NOAUTH/) }));
    expect(lines.map((l) => l.err)).toEqual([expect.stringMatching(/^NOAUTH/)]);
  });
});

describe('Redis over TLS', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'azora-redis-tls-'));
  let certs: TestCertificates;
  let stranger: TestCertificates;
  let server: SecuredTestRedisServer;
  let mutual: SecuredTestRedisServer;
  const login = { REDIS_USERNAME: 'azora', REDIS_PASSWORD: AZORA_PASSWORD };

  beforeAll(async () => {
    certs = makeTestCertificates(mkdtempSync(path.join(dir, 'ca-')));
    stranger = makeTestCertificates(mkdtempSync(path.join(dir, 'stranger-')), 'stranger');
    const users = [...aclUser('azora', AZORA_PASSWORD), '--user', 'default', 'off'];
    server = await SecuredTestRedisServer.start((port) => [...tlsServerArgs(port, certs), ...users]);
    mutual = await SecuredTestRedisServer.start((port) => [
      ...tlsServerArgs(port, certs, { authClients: true }),
      ...users,
    ]);
  });
  afterAll(async () => {
    await server?.stop();
    await mutual?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a BullMQ job over rediss:// with REDIS_TLS_CA_FILE', async () => {
    expect(server.url).toMatch(/^rediss:\/\/127\.0\.0\.1:/);
    const env = { REDIS_URL: server.url, REDIS_TLS_CA_FILE: certs.ca, ...login };
    expect(await whoami(connect(env))).toBe('azora');
    expect(await jobRoundTrip(env)).toBe('done 7');
  });

  it('refuses a server whose certificate another CA signed', async () => {
    const { error, lines } = await refusal({
      REDIS_URL: server.url,
      REDIS_TLS_CA_FILE: stranger.ca,
      ...login,
    });
    expect(error).toBeInstanceOf(Error);
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'redis unreachable; retrying',
        err: expect.stringMatching(/certificate/),
      }),
    ]);
  });

  it('shows a client certificate to a server that asks for one (REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE)', async () => {
    const env = { REDIS_URL: mutual.url, REDIS_TLS_CA_FILE: certs.ca, ...login };
    expect(
      await whoami(
        connect({ ...env, REDIS_TLS_CERT_FILE: certs.clientCert, REDIS_TLS_KEY_FILE: certs.clientKey }),
      ),
    ).toBe('azora');
    const { error } = await refusal(env);
    expect(error).toBeInstanceOf(Error);
  });
});

describe('a Redis Cluster with an ACL user, over TLS', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'azora-redis-cluster-tls-'));
  let certs: TestCertificates;
  let cluster: TestRedisCluster;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    certs = makeTestCertificates(dir);
    cluster = await startSecuredTestRedisCluster({
      args: [...aclUser('azora', AZORA_PASSWORD), '--user', 'default', 'off'],
      auth: { username: 'azora', password: AZORA_PASSWORD },
      tls: certs,
    });
    env = {
      REDIS_CLUSTER_NODES: cluster.env,
      REDIS_USERNAME: 'azora',
      REDIS_PASSWORD: AZORA_PASSWORD,
      REDIS_TLS_CA_FILE: certs.ca,
    };
  });
  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives every node the user, password and TLS, and runs a BullMQ job', async () => {
    const client = connect(env, 'blocking');
    expect(client).toBeInstanceOf(Cluster);
    expect(await whoami(client)).toBe('azora');
    // Every master, not only the one the first command went to.
    await (client as Cluster).ping();
    const masters = (client as Cluster).nodes('master');
    expect(masters).toHaveLength(3);
    expect(await Promise.all(masters.map(whoami))).toEqual(['azora', 'azora', 'azora']);
    expect(await jobRoundTrip(env)).toBe('done 7');
  });

  it('says why it cannot log in: the last node’s WRONGPASS, once', async () => {
    const wrong = 'wrong-secret-4';
    const { error, lines, raw } = await refusal({ ...env, REDIS_PASSWORD: wrong });
    // ioredis Cluster holds commands until it gets in (closing it fails them).
    expect(error).not.toBe('answered');
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'redis refused the credentials (REDIS_USERNAME, REDIS_PASSWORD or those in REDIS_URL); retrying',
        err: expect.stringMatching(/WRONGPASS/),
      }),
    ]);
    expect(raw.join('')).not.toContain(wrong);
  });

  it('refuses nodes whose certificates it cannot verify', async () => {
    const strangerCerts = makeTestCertificates(mkdtempSync(path.join(dir, 'stranger-')), 'stranger');
    const { error, lines } = await refusal({ ...env, REDIS_TLS_CA_FILE: strangerCerts.ca });
    expect(error).not.toBe('answered');
    // ioredis drops the TLS error of the connection it asks for the slots on: the line
    // can only say that no node answered.
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'redis unreachable; retrying',
        err: 'Failed to refresh slots cache. (Connection is closed.)',
      }),
    ]);
  });

  it('serves the bot as a process: ready, a clean exit, the password nowhere in its output', async () => {
    const slack = await new SimulatedSlack().start();
    const port = await freePort();
    const bot = runBot(
      {
        ...env,
        PORT: String(port),
        LOG_LEVEL: 'info',
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_SIGNING_SECRET: 'tls-secret',
        SLACK_API_URL: slack.apiUrl,
        REDIS_PREFIX: uniquePrefix(),
      },
      ['all'],
    );
    try {
      const ready = await waitFor(
        () =>
          bot.child.exitCode !== null
            ? { status: -1, body: {} }
            : fetch(`http://127.0.0.1:${port}/readyz`).then(
                async (r) => ({ status: r.status, body: (await r.json()) as unknown }),
                () => ({ status: 0, body: {} }),
              ),
        (r) => r.status === 200 || r.status === -1,
        { what: 'the bot to be ready', timeoutMs: 30_000 },
      );
      expect(ready).toEqual({ status: 200, body: { status: 'ready', redis: 'ok' } });
      await waitFor(
        () => bot.output().stdout,
        (out) => out.includes('azora-chatops started') || bot.child.exitCode !== null,
        { what: 'the start-up line' },
      );
      bot.child.kill('SIGTERM');
      const { code, stdout, stderr } = await bot.exited;
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toContain('stopped cleanly');
      expect(stdout + stderr).not.toContain(AZORA_PASSWORD);
    } finally {
      if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
      await slack.stop();
    }
  });
});
