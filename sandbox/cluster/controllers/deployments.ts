import { clone, num, rec, stringMap, type KubeObject } from '../types';
import {
  controllerRef,
  DEPLOYMENT_ONLY_ANNOTATIONS,
  DESIRED_REPLICAS,
  intOrPercent,
  isControlledBy,
  MAX_REPLICAS,
  POD_TEMPLATE_HASH,
  REVISION,
  REVISION_HISTORY,
  revisionOf,
  specReplicas,
  templateHash,
  templatesEqual,
} from '../workload';
import { DEPLOYMENTS, omitZeros, REPLICASETS, type ControllerContext } from './context';

/** Deployment: one ReplicaSet per distinct pod template, revisions, scaling, status. */
export class DeploymentController {
  constructor(private readonly ctx: ControllerContext) {}

  reconcile(): void {
    for (const d of this.ctx.store.scan(DEPLOYMENTS)) this.reconcileOne(d);
  }

  private reconcileOne(d: KubeObject): void {
    const { ctx } = this;
    const spec = rec(d.spec);
    const desired = specReplicas(d);
    const paused = spec.paused === true;
    const owned = ctx.store.scan(REPLICASETS, d.metadata.namespace).filter((rs) => isControlledBy(rs, d));
    const maxRevision = Math.max(0, ...owned.map(revisionOf));
    let newRs = owned.find((rs) => templatesEqual(rec(rs.spec).template, spec.template));

    if (!paused) {
      if (!newRs) {
        newRs = this.createReplicaSet(d, owned, maxRevision + 1);
      } else {
        newRs = this.syncNewReplicaSetAnnotations(d, newRs, maxRevision);
      }
      d = ctx.setAnnotations(DEPLOYMENTS, d, {
        ...d.metadata.annotations,
        [REVISION]: String(revisionOf(newRs)),
      });
    }

    if (newRs) {
      const surge = intOrPercent(rec(rec(spec.strategy).rollingUpdate).maxSurge, desired, true);
      newRs = this.scale(d, newRs, desired, {
        [DESIRED_REPLICAS]: String(desired),
        [MAX_REPLICAS]: String(desired + surge),
      });
      // Old ReplicaSets drain only once the new one is fully ready, so a rollout is observable.
      const newReady = num(rec(newRs.status).readyReplicas) ?? 0;
      if (!paused && newReady >= desired) {
        for (const old of owned) {
          if (old.metadata.uid !== newRs.metadata.uid) this.scale(d, old, 0);
        }
      }
    }
    this.pruneHistory(d, newRs);
    this.updateStatus(d, newRs);
  }

  /** A ReplicaSet's replicas set, with the Event the real controller records when they change. */
  private scale(
    d: KubeObject,
    rs: KubeObject,
    replicas: number,
    annotations?: Record<string, string>,
  ): KubeObject {
    const before = specReplicas(rs);
    const scaled = this.ctx.setReplicas(REPLICASETS, rs, replicas, annotations);
    if (replicas !== before) {
      const way = replicas > before ? 'up' : 'down';
      this.ctx.record(
        d,
        'ScalingReplicaSet',
        `Scaled ${way} replica set ${rs.metadata.name} from ${before} to ${replicas}`,
        'deployment-controller',
      );
    }
    return scaled;
  }

  private createReplicaSet(d: KubeObject, owned: KubeObject[], revision: number): KubeObject {
    const { store } = this.ctx;
    const spec = rec(d.spec);
    let collision = 0;
    let hash = templateHash(spec.template);
    // A name taken by a ReplicaSet with another template is a hash collision: rehash, like the real controller.
    while (store.peek(REPLICASETS, d.metadata.namespace, `${d.metadata.name}-${hash}`)) {
      collision += 1;
      hash = templateHash(spec.template, collision);
    }
    const template = clone(rec(spec.template));
    const templateMeta = rec(template.metadata);
    const labels = { ...stringMap(templateMeta.labels), [POD_TEMPLATE_HASH]: hash };
    template.metadata = { ...templateMeta, labels };
    const selector = rec(clone(spec.selector));
    selector.matchLabels = { ...stringMap(selector.matchLabels), [POD_TEMPLATE_HASH]: hash };
    const rs: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        uid: '',
        resourceVersion: '',
        creationTimestamp: '',
        labels,
        annotations: { ...copyableAnnotations(d), [REVISION]: String(revision) },
        ownerReferences: [controllerRef(d)],
      },
      spec: { replicas: 0, minReadySeconds: num(spec.minReadySeconds) ?? 0, selector, template },
    };
    this.ctx.logger.debug({ rs: rs.metadata.name, revision, owned: owned.length }, 'new ReplicaSet');
    return store.create(REPLICASETS, rs);
  }

  /**
   * The real controller's SetNewReplicaSetAnnotations: copy the deployment's annotations and,
   * when an older ReplicaSet becomes the new one again (a rollback), move its revision to the
   * top and remember the old number in revision-history.
   */
  private syncNewReplicaSetAnnotations(d: KubeObject, rs: KubeObject, maxRevision: number): KubeObject {
    const current = revisionOf(rs);
    const annotations = { ...rs.metadata.annotations, ...copyableAnnotations(d) };
    if (current < maxRevision) {
      annotations[REVISION] = String(maxRevision + 1);
      const history = rs.metadata.annotations?.[REVISION_HISTORY];
      if (current > 0) annotations[REVISION_HISTORY] = history ? `${history},${current}` : String(current);
    } else if (current === 0) {
      annotations[REVISION] = String(maxRevision + 1);
    }
    return this.ctx.setAnnotations(REPLICASETS, rs, annotations);
  }

  private pruneHistory(d: KubeObject, newRs: KubeObject | undefined): void {
    const limit = num(rec(d.spec).revisionHistoryLimit) ?? 10;
    const old = this.ctx.store
      .scan(REPLICASETS, d.metadata.namespace)
      .filter((rs) => isControlledBy(rs, d) && rs.metadata.uid !== newRs?.metadata.uid)
      .filter((rs) => specReplicas(rs) === 0 && (num(rec(rs.status).replicas) ?? 0) === 0)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of old.slice(0, Math.max(0, old.length - limit))) this.ctx.deleteQuietly(REPLICASETS, rs);
  }

  private updateStatus(d: KubeObject, newRs: KubeObject | undefined): void {
    const { ctx } = this;
    const spec = rec(d.spec);
    const desired = specReplicas(d);
    const owned = ctx.store.scan(REPLICASETS, d.metadata.namespace).filter((rs) => isControlledBy(rs, d));
    const sum = (field: string): number => owned.reduce((n, rs) => n + (num(rec(rs.status)[field]) ?? 0), 0);
    const replicas = sum('replicas');
    const ready = sum('readyReplicas');
    const available = sum('availableReplicas');
    const updated = newRs ? (num(rec(ctx.current(REPLICASETS, newRs)?.status).replicas) ?? 0) : 0;
    const maxUnavailable = intOrPercent(rec(rec(spec.strategy).rollingUpdate).maxUnavailable, desired, false);
    const complete =
      newRs !== undefined && updated === desired && replicas === desired && available >= desired;
    const progressing = spec.paused
      ? {
          type: 'Progressing',
          status: 'Unknown',
          reason: 'DeploymentPaused',
          message: 'Deployment is paused',
        }
      : complete
        ? {
            type: 'Progressing',
            status: 'True',
            reason: 'NewReplicaSetAvailable',
            message: `ReplicaSet "${newRs?.metadata.name ?? ''}" has successfully progressed.`,
          }
        : {
            type: 'Progressing',
            status: 'True',
            reason: 'ReplicaSetUpdated',
            message: `ReplicaSet "${newRs?.metadata.name ?? ''}" is progressing.`,
          };
    const availableCondition =
      available >= desired - maxUnavailable
        ? {
            type: 'Available',
            status: 'True',
            reason: 'MinimumReplicasAvailable',
            message: 'Deployment has minimum availability.',
          }
        : {
            type: 'Available',
            status: 'False',
            reason: 'MinimumReplicasUnavailable',
            message: 'Deployment does not have minimum availability.',
          };
    const old = rec(d.status);
    // Deployment status counters are omitempty in the API: absent rather than 0.
    const status = omitZeros({
      observedGeneration: d.metadata.generation,
      replicas,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: available,
      unavailableReplicas: Math.max(0, desired - available),
      conditions: ctx.conditions(old.conditions, [availableCondition, progressing]),
    });
    ctx.setStatus(DEPLOYMENTS, d, status);
  }
}

function copyableAnnotations(d: KubeObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(d.metadata.annotations ?? {})) {
    if (!DEPLOYMENT_ONLY_ANNOTATIONS.has(key)) out[key] = value;
  }
  return out;
}
