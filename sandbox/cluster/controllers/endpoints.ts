import { isPodReady } from '../pods';
import { fromMap, matchesSelector } from '../selectors';
import { arr, clone, num, rec, str, stringMap, type JsonRecord, type KubeObject } from '../types';
import { nameSuffix } from '../workload';
import { ENDPOINT_SLICES, ENDPOINTS, PODS, sameJson, SERVICES, type ControllerContext } from './context';

export const MANAGED_BY = 'endpoints.kubernetes.io/managed-by';
export const ENDPOINT_CONTROLLER = 'endpoint-controller';
const SLICE_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
const SLICE_CONTROLLER = 'endpointslice-controller.k8s.io';
export const SERVICE_NAME = 'kubernetes.io/service-name';

/**
 * Endpoints: the ready (and not-ready) addresses of the pods each Service selects, as an
 * Endpoints object and as one EndpointSlice (what newer clients read: kubectl 1.33's
 * describe of a Service).
 */
export class EndpointsController {
  constructor(private readonly ctx: ControllerContext) {}

  /** Endpoints and slices this controller made for a Service that is gone. */
  collectGarbage(): void {
    const { store } = this.ctx;
    for (const ep of store.scan(ENDPOINTS)) {
      if (ep.metadata.labels?.[MANAGED_BY] !== ENDPOINT_CONTROLLER) continue;
      if (!store.peek(SERVICES, ep.metadata.namespace, ep.metadata.name))
        this.ctx.deleteQuietly(ENDPOINTS, ep);
    }
    for (const slice of store.scan(ENDPOINT_SLICES)) {
      const service = slice.metadata.labels?.[SERVICE_NAME];
      if (slice.metadata.labels?.[SLICE_MANAGED_BY] !== SLICE_CONTROLLER || !service) continue;
      if (!store.peek(SERVICES, slice.metadata.namespace, service))
        this.ctx.deleteQuietly(ENDPOINT_SLICES, slice);
    }
  }

  reconcile(): void {
    for (const svc of this.ctx.store.scan(SERVICES)) this.reconcileOne(svc);
  }

  private reconcileOne(svc: KubeObject): void {
    const { store } = this.ctx;
    const spec = rec(svc.spec);
    const selectorMap = stringMap(spec.selector);
    if (Object.keys(selectorMap).length === 0) return;
    const selector = fromMap(selectorMap);
    const pods = store
      .scan(PODS, svc.metadata.namespace)
      .filter((p) => matchesSelector(selector, p.metadata.labels) && str(rec(p.status).podIP));
    const address = (p: KubeObject): JsonRecord => ({
      ip: str(rec(p.status).podIP),
      nodeName: str(rec(p.spec).nodeName),
      targetRef: podRef(p),
    });
    const ready = pods.filter(isPodReady).map(address);
    const notReady = pods.filter((p) => !isPodReady(p)).map(address);
    const ports = arr(spec.ports).map((raw) => {
      const p = rec(raw);
      return {
        ...(str(p.name) ? { name: str(p.name) } : {}),
        port: resolveTargetPort(p.targetPort ?? p.port, pods[0]),
        protocol: str(p.protocol) ?? 'TCP',
      };
    });
    const subsets =
      ready.length + notReady.length === 0
        ? []
        : [
            {
              ...(ready.length > 0 ? { addresses: ready } : {}),
              ...(notReady.length > 0 ? { notReadyAddresses: notReady } : {}),
              ports,
            },
          ];
    this.reconcileSlice(svc, pods, ports);
    const labels = { ...svc.metadata.labels, [MANAGED_BY]: ENDPOINT_CONTROLLER };
    const existing = store.peek(ENDPOINTS, svc.metadata.namespace, svc.metadata.name);
    if (!existing) {
      store.create(ENDPOINTS, {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: {
          name: svc.metadata.name,
          namespace: svc.metadata.namespace,
          uid: '',
          resourceVersion: '',
          // A booting cluster's endpoints are as old as their services.
          creationTimestamp: this.ctx.bootstrapping ? svc.metadata.creationTimestamp : '',
          labels,
        },
        subsets,
      });
    } else if (
      existing.metadata.labels?.[MANAGED_BY] === ENDPOINT_CONTROLLER &&
      !(sameJson(existing.subsets, subsets) && sameJson(existing.metadata.labels, labels))
    ) {
      const copy = clone(existing);
      copy.metadata.labels = labels;
      copy.subsets = subsets;
      this.ctx.write(ENDPOINTS, copy);
    }
  }

  private reconcileSlice(svc: KubeObject, pods: KubeObject[], ports: SlicePort[]): void {
    const { store } = this.ctx;
    const { namespace, name } = svc.metadata;
    const wanted = sliceOf(pods, ports);
    const labels = {
      ...svc.metadata.labels,
      [SERVICE_NAME]: name,
      [SLICE_MANAGED_BY]: SLICE_CONTROLLER,
    };
    const existing = store
      .scan(ENDPOINT_SLICES, namespace)
      .find(
        (s) =>
          s.metadata.labels?.[SERVICE_NAME] === name &&
          s.metadata.labels?.[SLICE_MANAGED_BY] === SLICE_CONTROLLER,
      );
    if (!existing) {
      store.create(ENDPOINT_SLICES, {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: `${name}-${nameSuffix(`${namespace}/${name}/slice`)}`,
          generateName: `${name}-`,
          namespace,
          uid: '',
          resourceVersion: '',
          creationTimestamp: this.ctx.bootstrapping ? svc.metadata.creationTimestamp : '',
          labels,
          ownerReferences: [
            {
              apiVersion: 'v1',
              kind: 'Service',
              name,
              uid: svc.metadata.uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        ...wanted,
      });
      return;
    }
    const same =
      sameJson(existing.endpoints, wanted.endpoints) &&
      sameJson(existing.ports, wanted.ports) &&
      sameJson(existing.metadata.labels, labels);
    if (same) return;
    const copy = clone(existing);
    copy.metadata.labels = labels;
    copy.endpoints = wanted.endpoints;
    copy.ports = wanted.ports;
    this.ctx.write(ENDPOINT_SLICES, copy);
  }
}

export interface SlicePort {
  name?: string;
  port: number;
  protocol: string;
}

/** The Service's one EndpointSlice (a real controller splits at 100 endpoints; no sandbox Service has that many). */
const podRef = (p: KubeObject): JsonRecord => ({
  kind: 'Pod',
  namespace: p.metadata.namespace,
  name: p.metadata.name,
  uid: p.metadata.uid,
});

function sliceOf(pods: KubeObject[], ports: SlicePort[]): JsonRecord {
  return {
    addressType: 'IPv4',
    endpoints: pods.map((p) => {
      const ready = isPodReady(p);
      return {
        addresses: [str(rec(p.status).podIP)],
        conditions: { ready, serving: ready, terminating: false },
        nodeName: str(rec(p.spec).nodeName),
        targetRef: podRef(p),
      };
    }),
    ports,
  };
}

/** A Service's targetPort may name a container port. */
function resolveTargetPort(target: unknown, pod: KubeObject | undefined): number {
  if (typeof target === 'number') return target;
  for (const c of arr(rec(pod?.spec).containers)) {
    for (const p of arr(rec(c).ports)) {
      if (rec(p).name === target) return num(rec(p).containerPort) ?? 0;
    }
  }
  return Number(target) || 0;
}
