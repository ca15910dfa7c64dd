import type { ServerResponse } from 'node:http';
import { workloadOf, type HealthRegistry } from './health';
import { sendJson } from './http';
import { parseProxyName } from './routes';
import { byKind } from './resources';
import { notFound, serviceUnavailable } from './status';
import type { ObjectStore } from './store';
import { arr, num, rec, str, type KubeObject } from './types';

const SERVICES = byKind('Service');
const ENDPOINTS = byKind('Endpoints');
const PODS = byKind('Pod');

export interface ProxyContext {
  store: ObjectStore;
  health: HealthRegistry;
  clock: () => number;
}

/**
 * /api/v1/namespaces/{ns}/services/{name}[:port]/proxy/{path}: the API server forwards to
 * a ready endpoint. Here the "app" behind it answers its readiness-probe path (its health
 * check) with 200 or, when its workload was marked unhealthy, 503; other paths are 404.
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
  const pod = pods[0];
  if (!pod) throw serviceUnavailable(`no endpoints available for service "${name}"`);

  const path = `/${subpath}`.split('?')[0] ?? '/';
  const container = arr(rec(pod.spec).containers)
    .map(rec)
    .find((c) => str(rec(rec(c.readinessProbe).httpGet).path) !== undefined);
  const healthPath = str(rec(rec(container?.readinessProbe).httpGet).path);
  if ((method !== 'GET' && method !== 'HEAD') || path !== healthPath) {
    const body = `Cannot ${method} ${path}\n`;
    res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(method === 'HEAD' ? undefined : body);
    return;
  }

  const image = str(container?.image) ?? '';
  const version = image.includes(':') ? image.slice(image.lastIndexOf(':') + 1) : 'latest';
  const service = str(container?.name) ?? name;
  const unhealthy = pods
    .map((p) => workloadOf(ctx.store, p))
    .map((w) => ctx.health.since(namespace, w.name))
    .find((since) => since !== undefined);
  const started = Date.parse(pod.metadata.creationTimestamp);
  if (unhealthy !== undefined) {
    sendJson(res, 503, {
      status: 'error',
      service,
      version,
      pod: pod.metadata.name,
      checks: { database: 'down', cache: 'ok' },
      since: new Date(unhealthy).toISOString(),
    });
    return;
  }
  sendJson(res, 200, {
    status: 'ok',
    service,
    version,
    pod: pod.metadata.name,
    port: num(ports[0]?.targetPort) ?? num(ports[0]?.port),
    uptimeSeconds: Math.max(0, Math.floor((ctx.clock() - started) / 1000)),
  });
}
