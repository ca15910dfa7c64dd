import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, createServer } from 'node:net';
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

  /** A Redis that hangs rather than fails: connections stay open and nothing answers, until `resume`. */
  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.kill('SIGCONT');
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

/** PEM files made by `makeTestCertificates`. */
export interface TestCertificates {
  /** The CA that signed the server and client certificates. */
  ca: string;
  /** For 127.0.0.1 and localhost (subjectAltName IP and DNS), so clients can verify the address they dial. */
  serverCert: string;
  serverKey: string;
  /** A client certificate, for a server that asks for one (`--tls-auth-clients yes`). */
  clientCert: string;
  clientKey: string;
}

/**
 * A throw-away CA and the certificates it signs, made with openssl into `dir` (P-256 keys:
 * quick to make). Two calls make two CAs that trust nothing of each other.
 */
export function makeTestCertificates(dir: string, name = 'azora-test'): TestCertificates {
  const openssl = (args: string) => execFileSync('openssl', args.split(' '), { cwd: dir, stdio: 'pipe' });
  const key = (base: string) => openssl(`ecparam -name prime256v1 -genkey -noout -out ${base}.key`);
  key('ca');
  openssl(`req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=${name}-ca`);
  const sign = (base: string, extensions: string) => {
    key(base);
    openssl(`req -new -key ${base}.key -out ${base}.csr -subj /CN=${name}-${base}`);
    writeFileSync(path.join(dir, `${base}.ext`), `${extensions}\n`);
    openssl(
      `x509 -req -in ${base}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ${base}.ext -out ${base}.pem`,
    );
  };
  // The nodes of a TLS cluster are each other's clients too.
  sign('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth');
  sign('client', 'extendedKeyUsage=clientAuth');
  const file = (base: string) => path.join(dir, base);
  return {
    ca: file('ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
  };
}

/** redis-server arguments that serve TLS only, on `port`, with `certs`. */
export function tlsServerArgs(port: number, certs: TestCertificates, { authClients = false } = {}): string[] {
  const options = {
    port: '0',
    'tls-port': String(port),
    'tls-cert-file': certs.serverCert,
    'tls-key-file': certs.serverKey,
    'tls-ca-cert-file': certs.ca,
    'tls-auth-clients': authClients ? 'yes' : 'no',
  };
  return Object.entries(options).flatMap(([name, value]) => [`--${name}`, value]);
}

/** Until something accepts TCP connections on 127.0.0.1:`port` (a server that asks for a password or TLS answers no PING). */
export async function untilListening(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A throw-away redis-server with arguments of the test's own (`--requirepass`, `--user`,
 * TLS through `tlsServerArgs`), on a free port, keeping nothing on disk.
 */
export class SecuredTestRedisServer {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly tls: boolean,
  ) {}

  static async start(args: (port: number) => string[]): Promise<SecuredTestRedisServer> {
    const port = await freePort();
    const argv = args(port);
    const own = argv.includes('--port') ? [] : ['--port', String(port)];
    const child = spawn('redis-server', [...own, '--bind', '127.0.0.1', '--save', '', ...argv], {
      stdio: 'ignore',
    });
    const server = new SecuredTestRedisServer(port, child, argv.includes('--tls-port'));
    try {
      await untilListening(port);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  /** `redis://` or `rediss://`, host and port only: credentials are the test's to add. */
  get url(): string {
    return `${this.tls ? 'rediss' : 'redis'}://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await gone;
  }
}
