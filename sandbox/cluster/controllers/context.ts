import type { Logger } from '../../../src/kernel/log';
import { byKind, type ResourceDef } from '../resources';
import type { ObjectStore } from '../store';
import { arr, canonicalJson, clone, isoSeconds, rec, type JsonRecord, type KubeObject } from '../types';
import { specReplicas } from '../workload';

export const DEPLOYMENTS = byKind('Deployment');
export const REPLICASETS = byKind('ReplicaSet');
export const STATEFULSETS = byKind('StatefulSet');
export const PODS = byKind('Pod');
export const SERVICES = byKind('Service');
export const ENDPOINTS = byKind('Endpoints');
export const ENDPOINT_SLICES = byKind('EndpointSlice');
export const HPAS = byKind('HorizontalPodAutoscaler');
export const JOBS = byKind('Job');
export const EVENTS = byKind('Event');
export const NODE_OBJECTS = byKind('Node');
export const POD_METRICS = byKind('PodMetrics');
export const NODE_METRICS = byKind('NodeMetrics');

/** Events kept per namespace, oldest dropped first: a real cluster keeps them an hour. */
export const MAX_EVENTS_PER_NAMESPACE = 500;

/** The kinds that own ReplicaSets and pods through a controller reference. */
export const OWNER_KINDS = [DEPLOYMENTS, REPLICASETS, STATEFULSETS, JOBS];

export interface ContextOptions {
  store: ObjectStore;
  clock: () => number;
  logger: Logger;
}

/**
 * What every reconciler shares: the store, the clock, the bootstrapping flag, and the
 * copy-on-write helpers that leave the store untouched when the stored part is already right.
 */
export class ControllerContext {
  readonly store: ObjectStore;
  readonly logger: Logger;
  /** While bootstrapping a seeded cluster, pods start Ready and as old as their owner. */
  bootstrapping = false;
  private readonly clock: () => number;
  /** Events recorded so far: two in one millisecond get names of their own. */
  private eventCount = 0;

  constructor(options: ContextOptions) {
    this.store = options.store;
    this.logger = options.logger;
    this.clock = options.clock;
  }

  now(): number {
    return this.clock();
  }

  write(res: ResourceDef, obj: KubeObject): KubeObject {
    return this.store.update(res, obj);
  }

  /** The stored version of `obj`, if it still exists. */
  current(res: ResourceDef, obj: KubeObject): KubeObject | undefined {
    return this.store.peek(res, obj.metadata.namespace, obj.metadata.name);
  }

  setStatus(res: ResourceDef, obj: KubeObject, status: unknown): KubeObject {
    if (sameJson(obj.status, status)) return obj;
    return this.write(res, { ...clone(obj), status });
  }

  setReplicas(
    res: ResourceDef,
    obj: KubeObject,
    replicas: number,
    annotations?: Record<string, string>,
  ): KubeObject {
    const merged = annotations ? { ...obj.metadata.annotations, ...annotations } : obj.metadata.annotations;
    if (specReplicas(obj) === replicas && sameJson(merged, obj.metadata.annotations)) return obj;
    const copy = clone(obj);
    copy.spec = { ...rec(copy.spec), replicas };
    if (merged) copy.metadata.annotations = { ...merged };
    return this.write(res, copy);
  }

  setAnnotations(res: ResourceDef, obj: KubeObject, annotations: Record<string, string>): KubeObject {
    if (sameJson(annotations, obj.metadata.annotations)) return obj;
    const copy = clone(obj);
    copy.metadata.annotations = { ...annotations };
    return this.write(res, copy);
  }

  /**
   * An Event about `involved`, as the controller named `component` records one: what
   * `kubectl describe` lists under Events and `kubectl get events` shows. None while
   * bootstrapping, as a seeded cluster's history happened before it was watched.
   */
  record(involved: KubeObject, reason: string, message: string, component: string): void {
    if (this.bootstrapping) return;
    const namespace = involved.metadata.namespace ?? 'default';
    const time = isoSeconds(this.now());
    this.eventCount += 1;
    this.store.create(EVENTS, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: `${involved.metadata.name}.${this.now().toString(16)}${this.eventCount.toString(16).padStart(4, '0')}`,
        namespace,
        uid: '',
        resourceVersion: '',
        creationTimestamp: '',
      },
      involvedObject: {
        apiVersion: involved.apiVersion,
        kind: involved.kind,
        namespace,
        name: involved.metadata.name,
        uid: involved.metadata.uid,
        resourceVersion: involved.metadata.resourceVersion,
      },
      reason,
      message,
      type: 'Normal',
      source: { component },
      reportingComponent: component,
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    });
    const kept = this.store.scan(EVENTS, namespace);
    if (kept.length <= MAX_EVENTS_PER_NAMESPACE) return;
    const byAge = kept.sort(
      (a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion),
    );
    for (const old of byAge.slice(0, kept.length - MAX_EVENTS_PER_NAMESPACE)) this.deleteQuietly(EVENTS, old);
  }

  deleteQuietly(res: ResourceDef, obj: KubeObject): void {
    try {
      this.store.delete(res, obj.metadata.namespace, obj.metadata.name);
    } catch {
      // Already gone: someone else deleted it between list and delete.
    }
  }

  /**
   * Conditions with transition times kept from the previous status unless the condition
   * changed, so that an unchanged status is an unchanged object (and no write).
   */
  conditions(previous: unknown, next: Array<Record<string, string>>): JsonRecord[] {
    const time = isoSeconds(this.now());
    return next.map((c) => {
      const before = arr(previous)
        .map(rec)
        .find((p) => p.type === c.type);
      const same =
        before && before.status === c.status && before.reason === c.reason && before.message === c.message;
      const transitioned = !before || before.status !== c.status;
      return {
        ...c,
        lastUpdateTime: same ? (before.lastUpdateTime ?? time) : time,
        lastTransitionTime: transitioned ? time : (before.lastTransitionTime ?? time),
      };
    });
  }
}

export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

export function omitZeros(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) if (value !== 0 && value !== undefined) out[key] = value;
  return out;
}
