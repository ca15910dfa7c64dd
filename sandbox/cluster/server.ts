import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import path from 'node:path';
import type { Policy } from '../../src/config/policy';
import { createLogger, type Logger } from '../../src/kernel/log';
import { handleResource, type ApiContext } from './api';
import { BadVersionMonitor, type ClusterAlert } from './bad-versions';
import { Controller } from './controller';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from './discovery';
import { Faults } from './faults';
import { sendOpenApi } from './openapi';
import { HealthRegistry } from './health';
import { sendError, sendJson, StreamRegistry } from './http';
import { buildKubeconfig, type KubeconfigOptions } from './kubeconfig';
import { RecordedLogs } from './logs';
import { Postgres, type SimulatedDatabase } from './postgres';
import { authorize, type Identity } from './rbac';
import { resolveKind } from './resources';
import { parseRoute, requestAttributes } from './routes';
import { seedTopology } from './seed';
import { ApiError, internalError, methodNotAllowed, pathNotFound, unauthorized } from './status';
import { ObjectStore } from './store';
import { selfSignedCertificate } from './tls';
import { TrafficHistory, type PodHistory } from './traffic';
import { arr, clone, isoSeconds, num, rec, str, type KubeObject } from './types';

export interface SimulatedClusterOptions {
  policy: Policy;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** How long new pods take to become Ready (default 50 ms; 0 = at once). */
  readyDelayMs?: number;
  /** One new log line per container every this many ms (default 1000). */
  logIntervalMs?: number;
  /** How many past lines a container's log keeps (default 1000). */
  logHistoryLines?: number;
  /** Extra users by bearer token. The admin token is always accepted. */
  identities?: Record<string, Identity>;
  /** Fixes the admin token (default: random per start). */
  adminToken?: string;
  /** Default: silent. */
  logger?: Logger;
  /** Start empty instead of with the policy's topology. */
  seed?: boolean;
  /** The cluster's clock (default Date.now). */
  clock?: () => number;
  /**
   * How long (cluster clock) a pod whose image tag ends in `-bad` takes traffic before it
   * fails: health 503, errors in its log, AzoraHighErrorRate (default 10 s; 0 = at once).
   */
  badVersionFailAfterMs?: number;
  /**
   * How long (cluster clock) the container of a Job's pod runs before it exits: the backup
   * and restore scripts against the simulated PostgreSQL, or any other command, which just
   * exits 0 (default 2000; 0 = at once).
   */
  jobRunMs?: number;
}

export interface RecordedRequest {
  method: string;
  /** Path with query string. */
  url: string;
  user?: string;
  status: number;
}

export interface SimulatedCluster {
  /** http://host:port — for clients that send tokens over plain HTTP (client-node does). */
  readonly url: string;
  /** https://host:port, the same port: kubectl sends credentials only over TLS. */
  readonly httpsUrl: string;
  /** PEM of the self-signed certificate served on httpsUrl (also in the kubeconfig). */
  readonly caCertificate: string;
  readonly host: string;
  readonly port: number;
  readonly adminToken: string;
  readonly faults: Faults;
  /**
   * The PostgreSQL the backup and restore Jobs act on: a small database per namespace (its
   * users count), the dumps on each claim's volume, and a fault for the next backup or restore.
   */
  readonly database: SimulatedDatabase;
  /** The most recent requests (up to 1000), oldest first, for assertions about what a client did. */
  readonly requests: readonly RecordedRequest[];
  /** TCP connections accepted since the start, for assertions that a client reuses them. */
  readonly connectionsAccepted: number;
  /** Watches and log follows still streaming, for assertions that a client closed them. */
  readonly openStreams: number;
  kubeconfig(options?: KubeconfigOptions): string;
  writeKubeconfig(file: string, options?: KubeconfigOptions): Promise<void>;
  /** A copy of a stored object; kind may be 'Deployment', 'deployments' or 'deploy'. */
  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(kind: string, namespace?: string): KubeObject[];
  /** Marks a Deployment or StatefulSet (un)healthy: its health path then answers 503 and its log shows errors. */
  setHealthy(namespace: string, workload: string, healthy: boolean): void;
  /**
   * A crash: the pod's containers exit and start again at the next whole second (a restart
   * more, the old run in `lastState`); their log follows end, as the kubelet's do, and the
   * log is the new run's from then on.
   */
  restartContainers(namespace: string, pod: string): void;
  /**
   * Alerts the cluster raises about itself (a `-bad` version failing under traffic fires the
   * guide's AzoraHighErrorRate, resolved once it takes no traffic); returns the unsubscribe.
   */
  onAlert(listener: (alert: ClusterAlert) => void): () => void;
  /** The cluster's own alerts that fire now. */
  firingAlerts(): ClusterAlert[];
  /**
   * What the apps did between two times (cluster clock): the pods of the policy's services,
   * when they ran and when they took traffic; the seeded pods since ever.
   */
  traffic(from: number, to: number): PodHistory[];
  /** How long a `-bad` version takes traffic before it fails (ms). */
  readonly badVersionFailAfterMs: number;
  /**
   * Resolves once the controller has nothing left to do (no pending reconcile, no pod about
   * to become Ready), after looking at the clock for `-bad` versions due to fail and for Job
   * containers and deadlines that are due. It does not wait for a running Job to end.
   */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

const ADMIN_NAME = 'azora-sandbox-admin';
const REQUEST_LOG_LIMIT = 1000;

export async function startSimulatedCluster(options: SimulatedClusterOptions): Promise<SimulatedCluster> {
  const cluster = new ClusterServer(options);
  await cluster.listen();
  return cluster;
}

class ClusterServer implements SimulatedCluster {
  readonly host: string;
  readonly adminToken: string;
  readonly faults: Faults;
  readonly database: Postgres;
  readonly requests: RecordedRequest[] = [];
  readonly caCertificate: string;
  private boundPort: number;
  private readonly listener: NetServer;
  private readonly http: Server;
  private readonly https: HttpsServer;
  private readonly sockets = new Set<Socket>();
  connectionsAccepted = 0;
  private readonly store: ObjectStore;
  private readonly controller: Controller;
  private readonly health = new HealthRegistry();
  private readonly releases: BadVersionMonitor;
  private trafficHistory: TrafficHistory | undefined;
  private readonly streams = new StreamRegistry();
  get openStreams(): number {
    return this.streams.size;
  }
  private readonly identities: Map<string, Identity>;
  private readonly hangTimers = new Set<NodeJS.Timeout>();
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly api: ApiContext;
  private listening = false;
  private stopped = false;

  constructor(private readonly options: SimulatedClusterOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.boundPort = options.port ?? 0;
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? createLogger('silent');
    this.adminToken = options.adminToken ?? `sandbox-admin-${randomBytes(16).toString('hex')}`;
    this.identities = new Map(Object.entries(options.identities ?? {}));
    this.identities.set(this.adminToken, { name: ADMIN_NAME });
    this.store = new ObjectStore(this.clock);
    this.database = new Postgres(this.store, this.clock);
    const jobLogs = new RecordedLogs();
    this.releases = new BadVersionMonitor({
      store: this.store,
      clock: this.clock,
      failAfterMs: this.badVersionFailAfterMs,
      policy: options.policy,
      logger: this.logger,
    });
    this.controller = new Controller({
      store: this.store,
      clock: this.clock,
      readyDelayMs: options.readyDelayMs ?? 50,
      jobRunMs: options.jobRunMs ?? 2_000,
      database: this.database,
      jobLogs,
      logger: this.logger,
      afterReconcile: () => {
        this.releases.check();
        this.trafficHistory?.observe();
      },
    });
    if (options.seed !== false) {
      for (const obj of seedTopology(options.policy, { now: this.clock() })) {
        this.store.create(resolveKind(obj.kind), obj);
      }
      this.controller.bootstrap();
    }
    // After the bootstrap: the seeded pods have served since ever.
    this.trafficHistory = new TrafficHistory({
      store: this.store,
      clock: this.clock,
      policy: options.policy,
    });
    this.api = {
      store: this.store,
      clock: this.clock,
      streams: this.streams,
      logs: { intervalMs: options.logIntervalMs ?? 1000, historyLines: options.logHistoryLines ?? 1000 },
      health: this.health,
      releases: this.releases,
      jobLogs,
      logger: this.logger,
    };
    this.faults = new Faults({ stop: () => this.stopListening(), start: () => this.listen() });
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.handle(req, res);
    const { certPem, keyPem } = selfSignedCertificate([this.host, '127.0.0.1', 'localhost', '::1']);
    this.caCertificate = certPem;
    this.http = createHttpServer(handler);
    this.https = createHttpsServer({ cert: certPem, key: keyPem }, handler);
    this.listener = createNetServer((socket) => this.accept(socket));
  }

  /** One port for both protocols: a TLS ClientHello starts with byte 0x16, an HTTP request never does. */
  private accept(socket: Socket): void {
    this.sockets.add(socket);
    this.connectionsAccepted += 1;
    socket.once('close', () => this.sockets.delete(socket));
    // A client that resets before its first byte must not crash the process with an unhandled 'error'.
    socket.on('error', () => socket.destroy());
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      (chunk[0] === 0x16 ? this.https : this.http).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://${this.hostForUrl()}:${this.boundPort}`;
  }

  get httpsUrl(): string {
    return `https://${this.hostForUrl()}:${this.boundPort}`;
  }

  /** Clients cannot connect to a wildcard address, so URLs name the loopback instead. */
  private hostForUrl(): string {
    const host = this.host === '0.0.0.0' ? '127.0.0.1' : this.host === '::' ? '::1' : this.host;
    return host.includes(':') ? `[${host}]` : host;
  }

  async listen(): Promise<void> {
    if (this.listening || this.stopped) return;
    await new Promise<void>((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen(this.boundPort, this.host, () => {
        this.listener.off('error', reject);
        resolve();
      });
    });
    // Keep the port across stop/start, so a kubeconfig written once stays valid.
    this.boundPort = (this.listener.address() as AddressInfo).port;
    this.listening = true;
    this.logger.info({ url: this.url }, 'simulated Kubernetes API listening');
  }

  async stopListening(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    this.streams.closeAll();
    const closed = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.stopListening();
    this.stopped = true;
    this.controller.stop();
    this.releases.stop();
    for (const timer of this.hangTimers) clearTimeout(timer);
    this.hangTimers.clear();
  }

  kubeconfig(options: KubeconfigOptions = {}): string {
    const token = options.token ?? this.adminToken;
    const name = this.identities.get(token)?.name ?? 'user';
    const https = options.scheme !== 'http';
    return buildKubeconfig(https ? this.httpsUrl : this.url, token, name, this.options.policy, {
      ...options,
      ...(https ? { caCertificate: this.caCertificate } : {}),
    });
  }

  async writeKubeconfig(file: string, options?: KubeconfigOptions): Promise<void> {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, this.kubeconfig(options), { mode: 0o600 });
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(resolveKind(kind), namespace, name);
  }

  list(kind: string, namespace?: string): KubeObject[] {
    return this.store.list(resolveKind(kind), namespace);
  }

  restartContainers(namespace: string, name: string): void {
    const res = resolveKind('pods');
    const pod = this.store.peek(res, namespace, name);
    if (!pod) throw new Error(`no pod ${namespace}/${name}`);
    const now = this.clock();
    const next = clone(pod);
    for (const container of arr(rec(next.status).containerStatuses)) {
      const status = rec(container);
      const startedAt = str(rec(rec(status.state).running).startedAt);
      status.lastState = {
        terminated: { exitCode: 1, reason: 'Error', startedAt, finishedAt: isoSeconds(now) },
      };
      status.state = { running: { startedAt: isoSeconds(Math.ceil((now + 1) / 1000) * 1000) } };
      status.restartCount = (num(status.restartCount) ?? 0) + 1;
    }
    this.store.update(res, next);
  }

  setHealthy(namespace: string, workload: string, healthy: boolean): void {
    this.health.set(namespace, workload, healthy, this.clock());
  }

  onAlert(listener: (alert: ClusterAlert) => void): () => void {
    return this.releases.onAlert(listener);
  }

  firingAlerts(): ClusterAlert[] {
    this.releases.check();
    return this.releases.alerts();
  }

  get badVersionFailAfterMs(): number {
    return this.options.badVersionFailAfterMs ?? 10_000;
  }

  traffic(from: number, to: number): PodHistory[] {
    return this.trafficHistory?.between(from, to) ?? [];
  }

  async settle(): Promise<void> {
    this.controller.tick();
    await this.controller.settle();
    this.releases.check();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const method = req.method ?? 'GET';
    let user: string | undefined;
    // 'close' rather than 'finish', so that aborted watches and log follows are recorded too.
    res.on('close', () => {
      this.requests.push({ method, url: url.pathname + url.search, user, status: res.statusCode });
      if (this.requests.length > REQUEST_LOG_LIMIT)
        this.requests.splice(0, this.requests.length - REQUEST_LOG_LIMIT);
      this.logger.debug({ method, url: req.url, user, status: res.statusCode }, 'kube api request');
    });
    const fault = this.faults.take(method, url.pathname + url.search);
    if (fault?.kind === 'error') {
      const reason =
        fault.status === 500 ? 'InternalError' : fault.status === 503 ? 'ServiceUnavailable' : 'Unknown';
      sendError(res, new ApiError(fault.status, reason, fault.message));
      return;
    }
    const run = (): void => {
      this.dispatch(req, res, url, (name) => (user = name)).catch((err: unknown) => {
        this.logger.error({ err }, 'simulated API request failed');
        if (!res.headersSent) sendError(res, internalError(err instanceof Error ? err.message : String(err)));
      });
    };
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'hang') {
      const timer = setTimeout(() => {
        this.hangTimers.delete(timer);
        if (!res.destroyed && !res.writableEnded) run();
      }, fault.ms);
      this.hangTimers.add(timer);
      return;
    }
    run();
  }

  private authenticate(req: IncomingMessage): Identity {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const identity = match?.[1] ? this.identities.get(match[1]) : undefined;
    if (!identity) throw unauthorized();
    return identity;
  }

  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    setUser: (name: string) => void,
  ): Promise<void> {
    try {
      const route = parseRoute(url.pathname);
      // Health endpoints are open, as anonymous access to /healthz is on real clusters.
      if (route.type === 'health') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
        return;
      }
      const identity = this.authenticate(req);
      setUser(identity.name);
      switch (route.type) {
        case 'root':
          return sendJson(res, 200, {
            paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/readyz', '/version'],
          });
        case 'version':
          return sendJson(res, 200, SERVER_VERSION);
        case 'api':
          return sendJson(res, 200, apiVersions(`${this.host}:${this.boundPort}`));
        case 'apis':
          return sendJson(res, 200, apiGroupList());
        case 'group':
          return this.sendDiscovery(res, apiGroup(route.group));
        case 'resourceList':
          return this.sendDiscovery(res, apiResourceList(route.group, route.version));
        case 'openapi':
          return sendOpenApi(req, res, route.version);
        case 'notFound':
          throw pathNotFound();
        case 'resource': {
          const attributes = requestAttributes(req.method ?? 'GET', route.target, url.searchParams);
          authorize(identity, attributes);
          // What the resource does not serve (a write to metrics-server's samples, a watch of them).
          if (route.target.subresource === undefined && !route.target.res.verbs.includes(attributes.verb))
            throw methodNotAllowed();
          // A client polling a Job (or its pod) after a test moved the clock sees it move on.
          if (route.target.res.plural === 'jobs' || route.target.res.plural === 'pods')
            this.controller.tick();
          await handleResource(req, res, route.target, url.searchParams, this.api);
          return;
        }
      }
    } catch (err) {
      if (err instanceof ApiError) {
        sendError(res, err);
        return;
      }
      throw err;
    }
  }

  private sendDiscovery(res: ServerResponse, doc: unknown): void {
    if (doc === undefined) throw pathNotFound();
    sendJson(res, 200, doc);
  }
}
