import type { ServerResponse } from 'node:http';
import { imageVersion, type BadVersionMonitor } from './bad-versions';
import { workloadOf, type HealthRegistry } from './health';
import { sendJson } from './http';
import { isPodReady, podPhase } from './pods';
import { parseProxyName } from './routes';
import { byKind } from './resources';
import { badRequest, notFound, serviceUnavailable } from './status';
import type { ObjectStore } from './store';
import { arr, num, rec, str, type JsonRecord, type KubeObject } from './types';

const SERVICES = byKind('Service');
const ENDPOINTS = byKind('Endpoints');
const PODS = byKind('Pod');

export interface ProxyContext {
  store: ObjectStore;
  health: HealthRegistry;
  clock: () => number;
  releases: BadVersionMonitor;
}

/**
 * /api/v1/namespaces/{ns}/services/{name}[:port]/proxy/{path}: the API server forwards to
 * a ready endpoint. The app there answers as serveApp says; when one of the endpoints is
 * in trouble, that is the one that answers, so a failing pod behind a Service shows.
 */
export function serveServiceProxy(
  method: string,
  res: ServerResponse,
  namespace: string,
  rawName: string,
  subpath: string,
  ctx: ProxyContext,
): void {
  const { name, port } = parseProxyName(rawName);
  const svc = ctx.store.get(SERVICES, namespace, name);
  if (!svc) throw notFound(SERVICES, name);
  const ports = arr(rec(svc.spec).ports).map(rec);
  if (port !== undefined && !ports.some((p) => p.name === port || String(p.port) === port)) {
    throw serviceUnavailable(`no endpoints available for service "${rawName}"`);
  }
  const endpoints = ctx.store.get(ENDPOINTS, namespace, name);
  const pods: KubeObject[] = [];
  for (const subset of arr(endpoints?.subsets)) {
    for (const address of arr(rec(subset).addresses)) {
      const podName = str(rec(rec(address).targetRef).name);
      const pod = podName ? ctx.store.get(PODS, namespace, podName) : undefined;
      if (pod) pods.push(pod);
    }
  }
  pods.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const pod = pods.find((p) => troubleOf(p, ctx) !== undefined) ?? pods[0];
  if (!pod) throw serviceUnavailable(`no endpoints available for service "${name}"`);
  serveApp(method, res, pod, subpath, ctx, num(ports[0]?.targetPort) ?? num(ports[0]?.port));
}

/**
 * /api/v1/namespaces/{ns}/pods/{name}[:port]/proxy/{path}: straight to one pod, whether or
 * not a Service selects it (how a deploy checks the idle colour before the switch). Like
 * the API server: 404 for a pod that does not exist, 400 for one without an address, and
 * 503 "error trying to reach service" when nothing listens (not running or not ready).
 */
export function servePodProxy(
  method: string,
  res: ServerResponse,
  namespace: string,
  rawName: string,
  subpath: string,
  ctx: ProxyContext,
): void {
  const { name, port } = parseProxyName(rawName);
  const pod = ctx.store.get(PODS, namespace, name);
  if (!pod) throw notFound(PODS, name);
  const ip = str(rec(pod.status).podIP);
  if (!ip) throw badRequest('address not allowed');
  const containerPorts = arr(rec(pod.spec).containers).flatMap((c) => arr(rec(c).ports).map(rec));
  const named = port === undefined ? undefined : containerPorts.find((p) => p.name === port);
  const target =
    port === undefined
      ? num(containerPorts[0]?.containerPort)
      : (num(named?.containerPort) ?? (/^\d+$/.test(port) ? Number(port) : undefined));
  const listening = containerPorts.some((p) => num(p.containerPort) === target);
  if (podPhase(pod) !== 'Running' || !isPodReady(pod) || !listening) {
    const address = target !== undefined ? `${ip}:${target}` : `${ip}:${port ?? 80}`;
    throw serviceUnavailable(
      `error trying to reach service: dial tcp ${address}: connect: connection refused`,
    );
  }
  serveApp(method, res, pod, subpath, ctx, target);
}

/** Why the app in a pod fails its health check now, if it does. */
export function troubleOf(
  pod: KubeObject,
  ctx: ProxyContext,
): { since: number; cause: 'dependency' | 'release' } | undefined {
  const namespace = pod.metadata.namespace ?? '';
  const marked = ctx.health.since(namespace, workloadOf(ctx.store, pod).name);
  if (marked !== undefined) return { since: marked, cause: 'dependency' };
  const failing = ctx.releases.failingSince(pod);
  if (failing !== undefined) return { since: failing, cause: 'release' };
  return undefined;
}

/**
 * The simulated app in a pod: its readiness-probe path (its health check) answers 200, or
 * 503 while its workload is marked unhealthy or its `-bad` version fails under traffic;
 * `GET /version` answers its service and version; everything else is 404.
 */
function serveApp(
  method: string,
  res: ServerResponse,
  pod: KubeObject,
  subpath: string,
  ctx: ProxyContext,
  port: number | undefined,
): void {
  const path = `/${subpath}`.split('?')[0] ?? '/';
  const containers = arr(rec(pod.spec).containers).map(rec);
  const container =
    containers.find((c) => str(rec(rec(c.readinessProbe).httpGet).path) !== undefined) ?? containers[0];
  const healthPath = str(rec(rec(container?.readinessProbe).httpGet).path);
  const version = imageVersion(str(container?.image) ?? '');
  const service = str(container?.name) ?? pod.metadata.name;
  const readable = method === 'GET' || method === 'HEAD';

  if (readable && path === '/version') {
    sendJson(res, 200, { service, version });
    return;
  }
  if (!readable || path !== healthPath) {
    const body = `Cannot ${method} ${path}\n`;
    res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(method === 'HEAD' ? undefined : body);
    return;
  }

  const trouble = troubleOf(pod, ctx);
  if (trouble) {
    const body: JsonRecord = {
      status: 'error',
      service,
      version,
      pod: pod.metadata.name,
      checks:
        trouble.cause === 'dependency'
          ? { database: 'down', cache: 'ok' }
          : { database: 'ok', cache: 'ok', requests: 'failing' },
      ...(trouble.cause === 'release'
        ? { error: 'TypeError: Cannot read properties of undefined (reading "amount")' }
        : {}),
      since: new Date(trouble.since).toISOString(),
    };
    sendJson(res, 503, body);
    return;
  }
  const started = Date.parse(pod.metadata.creationTimestamp);
  sendJson(res, 200, {
    status: 'ok',
    service,
    version,
    pod: pod.metadata.name,
    port,
    uptimeSeconds: Math.max(0, Math.floor((ctx.clock() - started) / 1000)),
  });
}
