import { isPodReady } from '../pods';
import { rec, stringMap, type KubeObject } from '../types';
import { specReplicas } from '../workload';
import { omitZeros, REPLICASETS, type ControllerContext } from './context';
import type { PodController } from './pods';

/** ReplicaSet: pods to match spec.replicas. */
export class ReplicaSetController {
  constructor(
    private readonly ctx: ControllerContext,
    private readonly pods: PodController,
  ) {}

  reconcile(): void {
    for (const rs of this.ctx.store.scan(REPLICASETS)) this.reconcileOne(rs);
  }

  private reconcileOne(rs: KubeObject): void {
    const desired = specReplicas(rs);
    const pods = this.pods.podsOf(rs);
    if (pods.length < desired) {
      const template = rec(rs.spec).template;
      const createdAt = this.ctx.bootstrapping ? Date.parse(rs.metadata.creationTimestamp) : this.ctx.now();
      for (let i = pods.length; i < desired; i++) {
        const name = this.pods.uniqueName(rs);
        this.pods.create(rs, template, name, stringMap(rec(rec(template).metadata).labels), createdAt, {
          generateName: `${rs.metadata.name}-`,
        });
      }
    } else if (pods.length > desired) {
      // Like the ReplicaSet controller: unready pods go first, then the youngest.
      const victims = [...pods].sort((a, b) => {
        const readiness = Number(isPodReady(a)) - Number(isPodReady(b));
        if (readiness !== 0) return readiness;
        return b.metadata.creationTimestamp.localeCompare(a.metadata.creationTimestamp);
      });
      for (const pod of victims.slice(0, pods.length - desired)) this.pods.delete(pod);
    }
    const now = this.pods.podsOf(rs);
    const ready = now.filter(isPodReady).length;
    this.ctx.setStatus(REPLICASETS, rs, {
      replicas: now.length,
      ...omitZeros({ fullyLabeledReplicas: now.length, readyReplicas: ready, availableReplicas: ready }),
      observedGeneration: rs.metadata.generation,
    });
  }
}
