import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

// Below Linux's ephemeral range (32768–60999): a port handed out by listen(0), or taken by an
// outgoing connection, in another test worker cannot land here between the check and the bind.
const PORTS = { low: 20_000, high: 32_000 };

/** A port nothing listens on right now, on any address (as the bot binds it). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = PORTS.low + Math.floor(Math.random() * (PORTS.high - PORTS.low));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port between ${PORTS.low} and ${PORTS.high}`);
}

function bindable(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

/**
 * A throw-away redis-server of the test's own, which the test can stop and start again
 * on the same port to play an outage. Like a production Redis it keeps an append-only
 * file, so a restart loses no data.
 */
export class TestRedisServer {
  private process?: ChildProcess;
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'azora-redis-'));
  private constructor(readonly port: number) {}

  static async start(port?: number): Promise<TestRedisServer> {
    const server = new TestRedisServer(port ?? (await freePort()));
    await server.up();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    this.process = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        this.dir,
      ],
      { stdio: 'ignore' },
    );
    const client = new Redis(this.url, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
    try {
      await client.ping();
    } finally {
      client.disconnect();
    }
  }

  /** The end of the test: the process and its data directory go. */
  async stop(): Promise<void> {
    await this.down();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** An outage: the process dies, its data stays for `up`. */
  async down(): Promise<void> {
    const child = this.process;
    // Killed by a signal, a process has no exit code but a signal code: it is down already.
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}
