import { byKind } from './resources';
import type { ObjectStore } from './store';
import type { KubeObject } from './types';
import { controllerOf } from './workload';

const REPLICASETS = byKind('ReplicaSet');

/**
 * Which workloads the simulated apps report as unhealthy. Readiness is not touched, so an
 * unhealthy deployment keeps its endpoints (like an app whose dependency broke after start)
 * and only its health path and its log say so.
 */
export class HealthRegistry {
  private readonly unhealthySince = new Map<string, number>();

  set(namespace: string, workload: string, healthy: boolean, now: number): void {
    const key = `${namespace}/${workload}`;
    if (healthy) this.unhealthySince.delete(key);
    else if (!this.unhealthySince.has(key)) this.unhealthySince.set(key, now);
  }

  /** When the workload turned unhealthy, or undefined while it is healthy. */
  since(namespace: string, workload: string): number | undefined {
    return this.unhealthySince.get(`${namespace}/${workload}`);
  }
}

/** The Deployment or StatefulSet a pod belongs to (via its ReplicaSet), or the pod's own name. */
export function workloadOf(store: ObjectStore, pod: KubeObject): { kind: string; name: string } {
  const ref = controllerOf(pod);
  if (!ref) return { kind: 'Pod', name: pod.metadata.name };
  if (ref.kind === 'ReplicaSet') {
    const rs = store.get(REPLICASETS, pod.metadata.namespace, ref.name);
    const owner = rs ? controllerOf(rs) : undefined;
    if (owner?.kind === 'Deployment') return { kind: 'Deployment', name: owner.name };
  }
  return { kind: ref.kind, name: ref.name };
}
