import { controllerOf } from '../workload';
import { OWNER_KINDS, PODS, REPLICASETS, type ControllerContext } from './context';

/**
 * The garbage collector: ReplicaSets and pods whose controlling owner (a Deployment,
 * ReplicaSet, StatefulSet or Job) is gone go too (foreground-less, at once). An owner
 * deleted with propagationPolicy Orphan has had its dependents' references removed first.
 */
export class GarbageCollector {
  constructor(private readonly ctx: ControllerContext) {}

  reconcile(): void {
    const { store } = this.ctx;
    for (const res of [REPLICASETS, PODS]) {
      for (const obj of store.scan(res)) {
        const ref = controllerOf(obj);
        if (!ref) continue;
        const ownerRes = OWNER_KINDS.find((r) => r.kind === ref.kind);
        if (!ownerRes) continue;
        const owner = store.peek(ownerRes, obj.metadata.namespace, ref.name);
        if (!owner || owner.metadata.uid !== ref.uid) this.ctx.deleteQuietly(res, obj);
      }
    }
  }
}
