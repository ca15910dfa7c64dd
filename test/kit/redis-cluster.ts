import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort, tlsServerArgs, untilListening, type TestCertificates } from './redis-server';
import { waitFor } from './wait';

const SLOTS = 16_384;

export interface TestRedisCluster {
  /** `host:port` of every master, as REDIS_CLUSTER_NODES lists them. */
  nodes: string[];
  /** The value for REDIS_CLUSTER_NODES. */
  env: string;
  /** How the cluster was formed: Debian's redis-cli, or CLUSTER ADDSLOTSRANGE/MEET when it is missing. */
  createdWith: 'redis-cli' | 'commands';
  /** Kills the master that holds `key`'s slot, as a node dying does; resolves to its address. */
  killOwnerOf(key: string): Promise<string>;
  stop(): Promise<void>;
}

interface Node {
  port: number;
  dir: string;
  process: ChildProcess;
}

/** TestRedisCluster.killOwnerOf over `nodes`, asking the first with `client`'s options. */
function ownerKiller(nodes: readonly Node[], client: RedisOptions) {
  return async (key: string): Promise<string> => {
    const probe = new Redis({ ...client, port: nodes[0]!.port });
    try {
      const slot = Number(await probe.call('CLUSTER', 'KEYSLOT', key));
      const ranges = (await probe.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      const port = ranges.find(([from, to]) => slot >= from && slot <= to)![2][1];
      await stopNodes(nodes.filter((n) => n.port === port));
      return `127.0.0.1:${port}`;
    } finally {
      probe.disconnect();
    }
  };
}

/** Kills the nodes still running and removes their dirs. */
async function stopNodes(nodes: readonly Node[]): Promise<void> {
  await Promise.all(
    nodes.map(async (node) => {
      const child = node.process;
      if (child.exitCode === null && child.signalCode === null) {
        const gone = once(child, 'exit');
        child.kill('SIGKILL');
        await gone;
      }
      await rm(node.dir, { recursive: true, force: true });
    }),
  );
}

/**
 * A throw-away Redis Cluster of three masters, no replicas, from Debian's redis-server:
 * each node a process of its own on a free port with a temp dir for its nodes.conf.
 */
export async function startTestRedisCluster(masters = 3): Promise<TestRedisCluster> {
  const nodes: Node[] = [];
  const stop = async () => {
    await stopNodes(nodes);
  };
  try {
    for (let i = 0; i < masters; i++) nodes.push(await startNode());
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    const createdWith = (await createWithRedisCli(addresses)) ? 'redis-cli' : 'commands';
    if (createdWith === 'commands') await createWithCommands(nodes.map((n) => n.port));
    await Promise.all(nodes.map((n) => untilClusterOk(n.port)));
    const killOwnerOf = ownerKiller(nodes, { host: '127.0.0.1', maxRetriesPerRequest: 1 });
    return { nodes: addresses, env: addresses.join(','), createdWith, killOwnerOf, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * One node, answering PING. A free port can be taken between the check and the bind (or
 * its cluster bus, port + 10000, can be busy): the node then exits, and another port is
 * tried instead of waiting for an answer that never comes.
 */
async function startNode(): Promise<Node> {
  for (let attempt = 1; ; attempt++) {
    const node = await spawnNode(await freePort());
    const exited = once(node.process, 'exit');
    const up = await untilPing(node.port, exited);
    if (up) return node;
    await rm(node.dir, { recursive: true, force: true });
    if (attempt >= 5) throw new Error(`redis-server exited on ${attempt} free ports in a row`);
  }
}

async function spawnNode(port: number): Promise<Node> {
  const dir = await mkdtemp(path.join(tmpdir(), 'azora-redis-cluster-'));
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      path.join(dir, 'nodes.conf'),
      '--cluster-node-timeout',
      '5000',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  );
  return { port, dir, process: child };
}

/** True once the node answers PING; false when it exits first. */
async function untilPing(port: number, exited: Promise<unknown>): Promise<boolean> {
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null, retryStrategy: () => 50 });
  try {
    return await Promise.race([client.ping().then(() => true), exited.then(() => false)]);
  } finally {
    client.disconnect();
  }
}

/** false when redis-cli is not installed; any other failure is the test's problem. */
function createWithRedisCli(addresses: string[]): Promise<boolean> {
  return new Promise((resolve, reject) => {
    execFile(
      'redis-cli',
      ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 20_000 },
      (err, stdout, stderr) => {
        if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') resolve(false);
        else if (err)
          reject(new Error(`redis-cli --cluster create failed: ${stderr || stdout || err.message}`));
        else resolve(true);
      },
    );
  });
}

/** What `redis-cli --cluster create` does, by hand: even slot ranges per node, then MEET. */
async function createWithCommands(ports: number[]): Promise<void> {
  const clients = ports.map((port) => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 }));
  try {
    const share = Math.ceil(SLOTS / ports.length);
    await Promise.all(
      clients.map((client, i) =>
        client.call('CLUSTER', 'ADDSLOTSRANGE', i * share, Math.min(SLOTS, (i + 1) * share) - 1),
      ),
    );
    await Promise.all(
      clients.slice(1).map((_, i) => clients[0]!.call('CLUSTER', 'MEET', '127.0.0.1', ports[i + 1]!)),
    );
  } finally {
    for (const client of clients) client.disconnect();
  }
}

async function untilClusterOk(port: number): Promise<void> {
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  try {
    await waitFor(
      async () => {
        const info = String(await client.call('CLUSTER', 'INFO'));
        const known = Number(/cluster_known_nodes:(\d+)/.exec(info)?.[1] ?? 0);
        return { ok: info.includes('cluster_state:ok'), known };
      },
      (s) => s.ok,
      { what: `cluster_state:ok on node ${port}`, timeoutMs: 15_000, intervalMs: 100 },
    );
  } finally {
    client.disconnect();
  }
}

export interface SecuredTestRedisClusterOptions {
  masters?: number;
  /** More arguments for every node: `--requirepass`, `--user` … */
  args?: string[];
  /** How the kit's own clients log in to form the cluster. */
  auth?: { username?: string; password?: string };
  /** TLS only, the cluster bus included (`--tls-cluster yes`). */
  tls?: TestCertificates;
}

/**
 * `startTestRedisCluster` with a password or ACL users and TLS. Formed with CLUSTER
 * ADDSLOTSRANGE and MEET over the kit's own (authenticated, TLS) connections, each node
 * with a cluster bus port of its own from `freePort`.
 */
export async function startSecuredTestRedisCluster(
  options: SecuredTestRedisClusterOptions = {},
): Promise<TestRedisCluster> {
  const nodes: Array<Node & { busPort: number }> = [];
  const stop = async () => {
    await stopNodes(nodes);
  };
  const client: RedisOptions = {
    host: '127.0.0.1',
    maxRetriesPerRequest: 1,
    ...options.auth,
    ...(options.tls ? { tls: { ca: [readFileSync(options.tls.ca, 'utf8')] } } : {}),
  };
  try {
    for (let i = 0; i < (options.masters ?? 3); i++) {
      const port = await freePort();
      let busPort = await freePort();
      while (busPort === port) busPort = await freePort();
      const dir = await mkdtemp(path.join(tmpdir(), 'azora-redis-cluster-'));
      const transport = options.tls
        ? [...tlsServerArgs(port, options.tls), '--tls-cluster', 'yes', '--tls-replication', 'yes']
        : ['--port', String(port)];
      const child = spawn(
        'redis-server',
        [
          ...transport,
          ...['--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-port', String(busPort)],
          ...['--cluster-config-file', path.join(dir, 'nodes.conf'), '--cluster-node-timeout', '5000'],
          ...['--save', '', '--appendonly', 'no', '--dir', dir],
          ...(options.args ?? []),
        ],
        { stdio: 'ignore' },
      );
      nodes.push({ port, busPort, dir, process: child });
    }
    await Promise.all(nodes.map((n) => untilListening(n.port)));
    const clients = nodes.map((n) => new Redis({ ...client, port: n.port }));
    try {
      const share = Math.ceil(SLOTS / nodes.length);
      await Promise.all(
        clients.map((c, i) =>
          c.call('CLUSTER', 'ADDSLOTSRANGE', i * share, Math.min(SLOTS, (i + 1) * share) - 1),
        ),
      );
      await Promise.all(
        nodes.slice(1).map((n) => clients[0]!.call('CLUSTER', 'MEET', '127.0.0.1', n.port, n.busPort)),
      );
      await Promise.all(
        clients.map((c, i) =>
          waitFor(
            async () => {
              const info = String(await c.call('CLUSTER', 'INFO'));
              const known = Number(/cluster_known_nodes:(\d+)/.exec(info)?.[1] ?? 0);
              return { ok: info.includes('cluster_state:ok'), known };
            },
            (s) => s.ok && s.known === nodes.length,
            { what: `cluster_state:ok on node ${nodes[i]!.port}`, timeoutMs: 20_000, intervalMs: 100 },
          ),
        ),
      );
    } finally {
      for (const c of clients) c.disconnect();
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    const killOwnerOf = ownerKiller(nodes, client);
    return { nodes: addresses, env: addresses.join(','), createdWith: 'commands', killOwnerOf, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
