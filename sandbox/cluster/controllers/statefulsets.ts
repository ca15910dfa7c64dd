import { isPodReady } from '../pods';
import { clone, rec, str, stringMap, type KubeObject } from '../types';
import { specReplicas, STS_REVISION_LABEL, templateHash } from '../workload';
import { omitZeros, PODS, STATEFULSETS, type ControllerContext } from './context';
import type { PodController } from './pods';

/** StatefulSet: pods <name>-0..n-1, created in order, replaced from the top on template change. */
export class StatefulSetController {
  constructor(
    private readonly ctx: ControllerContext,
    private readonly pods: PodController,
  ) {}

  reconcile(): void {
    for (const sts of this.ctx.store.scan(STATEFULSETS)) this.reconcileOne(sts);
  }

  private reconcileOne(sts: KubeObject): void {
    const { ctx } = this;
    const spec = rec(sts.spec);
    const desired = specReplicas(sts);
    const name = sts.metadata.name;
    const updateRevision = `${name}-${templateHash(spec.template)}`;
    const ordered = spec.podManagementPolicy !== 'Parallel';
    const pods = new Map<number, KubeObject>();
    for (const pod of this.pods.podsOf(sts)) {
      const suffix = pod.metadata.name.slice(name.length + 1);
      if (pod.metadata.name.startsWith(`${name}-`) && /^\d+$/.test(suffix)) pods.set(Number(suffix), pod);
      else this.pods.delete(pod);
    }
    for (const [ordinal, pod] of pods) {
      if (ordinal >= desired) {
        this.pods.delete(pod);
        pods.delete(ordinal);
      }
    }
    const createdAt = ctx.bootstrapping ? Date.parse(sts.metadata.creationTimestamp) : ctx.now();
    for (let i = 0; i < desired; i++) {
      if (pods.has(i)) continue;
      if (ordered && !ctx.bootstrapping && [...pods.values()].some((p) => !isPodReady(p))) break;
      const template = clone(rec(spec.template));
      const labels = {
        ...stringMap(rec(template.metadata).labels),
        [STS_REVISION_LABEL]: updateRevision,
        'statefulset.kubernetes.io/pod-name': `${name}-${i}`,
        'apps.kubernetes.io/pod-index': String(i),
      };
      this.pods.create(sts, template, `${name}-${i}`, labels, createdAt, {
        extraSpec: {
          hostname: `${name}-${i}`,
          ...(str(spec.serviceName) ? { subdomain: str(spec.serviceName) } : {}),
        },
      });
      const created = ctx.store.peek(PODS, sts.metadata.namespace, `${name}-${i}`);
      if (created) pods.set(i, created);
    }
    // Rolling update: replace the highest outdated ordinal once everything else is ready.
    const outdated = [...pods.entries()]
      .filter(([, p]) => p.metadata.labels?.[STS_REVISION_LABEL] !== updateRevision)
      .sort(([a], [b]) => b - a);
    const first = outdated[0];
    if (first && [...pods.values()].every(isPodReady)) {
      this.pods.delete(first[1]);
      pods.delete(first[0]);
    }
    const all = [...pods.values()];
    const ready = all.filter(isPodReady).length;
    const updated = all.filter((p) => p.metadata.labels?.[STS_REVISION_LABEL] === updateRevision).length;
    const old = rec(sts.status);
    const currentRevision =
      updated === desired && all.length === desired
        ? updateRevision
        : (str(old.currentRevision) ?? updateRevision);
    const current = all.filter((p) => p.metadata.labels?.[STS_REVISION_LABEL] === currentRevision).length;
    ctx.setStatus(STATEFULSETS, sts, {
      observedGeneration: sts.metadata.generation,
      replicas: all.length,
      ...omitZeros({ readyReplicas: ready, currentReplicas: current, updatedReplicas: updated }),
      availableReplicas: ready,
      currentRevision,
      updateRevision,
      collisionCount: 0,
    });
  }
}
