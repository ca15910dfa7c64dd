import type { Logger } from '../../src/kernel/log';
import { buildPod, isPodReady, NODES, podStatus } from './pods';
import { byKind, type ResourceDef } from './resources';
import { fromMap, matchesSelector } from './selectors';
import type { ObjectStore } from './store';
import {
  arr,
  canonicalJson,
  clone,
  isoSeconds,
  num,
  rec,
  str,
  stringMap,
  type JsonRecord,
  type KubeObject,
} from './types';
import {
  controllerOf,
  controllerRef,
  DEPLOYMENT_ONLY_ANNOTATIONS,
  DESIRED_REPLICAS,
  intOrPercent,
  isControlledBy,
  MAX_REPLICAS,
  nameSuffix,
  POD_TEMPLATE_HASH,
  REVISION,
  REVISION_HISTORY,
  revisionOf,
  specReplicas,
  STS_REVISION_LABEL,
  templateHash,
  templatesEqual,
} from './workload';

const DEPLOYMENTS = byKind('Deployment');
const REPLICASETS = byKind('ReplicaSet');
const STATEFULSETS = byKind('StatefulSet');
const PODS = byKind('Pod');
const SERVICES = byKind('Service');
const ENDPOINTS = byKind('Endpoints');
const HPAS = byKind('HorizontalPodAutoscaler');

export interface ControllerOptions {
  store: ObjectStore;
  clock: () => number;
  /** How long a new pod stays Pending before it is Running and Ready; 0 makes it Ready at once. */
  readyDelayMs: number;
  logger: Logger;
}

/** Safety net: a reconcile that keeps writing after this many passes has a bug, not more work. */
const MAX_PASSES = 25;

/**
 * The deployment, replicaset, statefulset, HPA and endpoints controllers plus a kubelet,
 * collapsed into one synchronous reconcile over the store. It runs after every write (on
 * the next tick) and when a pod's readiness timer fires; settle() waits for both to be quiet.
 */
export class Controller {
  private scheduled = false;
  private stopped = false;
  private readonly readyTimers = new Map<string, NodeJS.Timeout>();
  private idleWaiters: Array<() => void> = [];
  private podCounter = 0;
  private ipCounter = 0;
  /** While bootstrapping a seeded cluster, pods start Ready and as old as their owner. */
  private bootstrapping = false;
  private readonly unsubscribe: () => void;

  constructor(private readonly options: ControllerOptions) {
    this.unsubscribe = options.store.subscribe(() => this.schedule());
  }

  /** Brings a freshly seeded store to its steady state at once, as if it had been running for a while. */
  bootstrap(): void {
    this.bootstrapping = true;
    try {
      this.reconcileUntilStable();
    } finally {
      this.bootstrapping = false;
    }
  }

  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => this.run());
  }

  settle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    for (const timer of this.readyTimers.values()) clearTimeout(timer);
    this.readyTimers.clear();
    this.wakeWaiters();
  }

  private isIdle(): boolean {
    return this.stopped || (!this.scheduled && this.readyTimers.size === 0);
  }

  private wakeWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private run(): void {
    this.scheduled = false;
    if (this.stopped) return;
    try {
      this.reconcileUntilStable();
    } catch (err) {
      this.options.logger.error({ err }, 'simulated controller failed');
    }
    if (this.isIdle()) this.wakeWaiters();
  }

  private reconcileUntilStable(): void {
    const { store } = this.options;
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const before = store.currentRevision;
      this.reconcileOnce();
      if (store.currentRevision === before) return;
    }
    this.options.logger.warn('simulated controller did not converge');
  }

  private reconcileOnce(): void {
    this.collectGarbage();
    // scan() hands out the stored (frozen) objects: reconcilers read them and copy only what they change.
    const { store } = this.options;
    for (const hpa of store.scan(HPAS)) this.reconcileHpa(hpa);
    for (const d of store.scan(DEPLOYMENTS)) this.reconcileDeployment(d);
    for (const rs of store.scan(REPLICASETS)) this.reconcileReplicaSet(rs);
    for (const sts of store.scan(STATEFULSETS)) this.reconcileStatefulSet(sts);
    this.reconcileBarePods();
    this.reconcileEndpoints();
  }

  private now(): number {
    return this.options.clock();
  }

  private write(res: ResourceDef, obj: KubeObject): KubeObject {
    return this.options.store.update(res, obj);
  }

  /** Copy-on-write helpers: nothing is copied or written when the stored part is already right. */
  private setStatus(res: ResourceDef, obj: KubeObject, status: unknown): KubeObject {
    if (sameJson(obj.status, status)) return obj;
    return this.write(res, { ...clone(obj), status });
  }

  private setReplicas(
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

  private setAnnotations(res: ResourceDef, obj: KubeObject, annotations: Record<string, string>): KubeObject {
    if (sameJson(annotations, obj.metadata.annotations)) return obj;
    const copy = clone(obj);
    copy.metadata.annotations = { ...annotations };
    return this.write(res, copy);
  }

  // Garbage collection: dependents whose controlling owner is gone go too (foreground-less, at once).

  private collectGarbage(): void {
    const { store } = this.options;
    for (const res of [REPLICASETS, PODS]) {
      for (const obj of store.scan(res)) {
        const ref = controllerOf(obj);
        if (!ref) continue;
        const ownerRes = [DEPLOYMENTS, REPLICASETS, STATEFULSETS].find((r) => r.kind === ref.kind);
        if (!ownerRes) continue;
        const owner = store.peek(ownerRes, obj.metadata.namespace, ref.name);
        if (!owner || owner.metadata.uid !== ref.uid) this.deleteQuietly(res, obj);
      }
    }
    for (const ep of store.scan(ENDPOINTS)) {
      if (ep.metadata.labels?.[MANAGED_BY] !== ENDPOINT_CONTROLLER) continue;
      if (!store.peek(SERVICES, ep.metadata.namespace, ep.metadata.name)) this.deleteQuietly(ENDPOINTS, ep);
    }
  }

  private deleteQuietly(res: ResourceDef, obj: KubeObject): void {
    try {
      this.options.store.delete(res, obj.metadata.namespace, obj.metadata.name);
    } catch {
      // Already gone: someone else deleted it between list and delete.
    }
  }

  // HorizontalPodAutoscaler: no metrics, so it only keeps the target inside [min, max].

  private reconcileHpa(hpa: KubeObject): void {
    const spec = rec(hpa.spec);
    const ref = rec(spec.scaleTargetRef);
    const targetRes = [DEPLOYMENTS, STATEFULSETS, REPLICASETS].find((r) => r.kind === ref.kind);
    const target = targetRes
      ? this.options.store.peek(targetRes, hpa.metadata.namespace, str(ref.name) ?? '')
      : undefined;
    const min = num(spec.minReplicas) ?? 1;
    const max = num(spec.maxReplicas) ?? min;
    const old = rec(hpa.status);
    let status: JsonRecord;
    if (!target || !targetRes) {
      status = {
        ...old,
        desiredReplicas: num(old.desiredReplicas) ?? 0,
        conditions: this.conditions(old.conditions, [
          {
            type: 'AbleToScale',
            status: 'False',
            reason: 'FailedGetScale',
            message: `the HPA controller was unable to get the target's current scale: ${targetRes ? `${targetRes.plural}.${targetRes.group}` : 'unknown kind'} "${str(ref.name) ?? ''}" not found`,
          },
        ]),
      };
    } else {
      const current = specReplicas(target);
      // Like the real HPA: a target scaled to zero has autoscaling switched off.
      const desired = current === 0 ? 0 : Math.min(max, Math.max(min, current));
      let lastScaleTime = old.lastScaleTime;
      if (desired !== current) {
        this.setReplicas(targetRes, target, desired);
        lastScaleTime = isoSeconds(this.now());
        this.options.logger.debug(
          { hpa: hpa.metadata.name, from: current, to: desired },
          'HPA clamped replicas',
        );
      }
      const limited =
        current === 0
          ? {
              status: 'False',
              reason: 'DesiredWithinRange',
              message: 'the desired count is within the acceptable range',
            }
          : current < min
            ? {
                status: 'True',
                reason: 'TooFewReplicas',
                message: 'the desired replica count is less than the minimum replica count',
              }
            : current > max
              ? {
                  status: 'True',
                  reason: 'TooManyReplicas',
                  message: 'the desired replica count is more than the maximum replica count',
                }
              : {
                  status: 'False',
                  reason: 'DesiredWithinRange',
                  message: 'the desired count is within the acceptable range',
                };
      status = {
        ...(lastScaleTime !== undefined ? { lastScaleTime } : {}),
        currentReplicas: num(rec(target.status).replicas) ?? 0,
        desiredReplicas: desired,
        conditions: this.conditions(old.conditions, [
          {
            type: 'AbleToScale',
            status: 'True',
            reason: desired !== current ? 'SucceededRescale' : 'ReadyForNewScale',
            message:
              desired !== current
                ? `the HPA controller was able to update the target scale to ${desired}`
                : 'recommended size matches current size',
          },
          current === 0
            ? {
                type: 'ScalingActive',
                status: 'False',
                reason: 'ScalingDisabled',
                message: 'scaling is disabled since the replica count of the target is zero',
              }
            : {
                type: 'ScalingActive',
                status: 'True',
                reason: 'ValidMetricFound',
                message: 'the HPA was able to successfully calculate a replica count',
              },
          { type: 'ScalingLimited', ...limited },
        ]),
      };
    }
    this.setStatus(HPAS, hpa, status);
  }

  /**
   * Conditions with transition times kept from the previous status unless the condition
   * changed, so that an unchanged status is an unchanged object (and no write).
   */
  private conditions(previous: unknown, next: Array<Record<string, string>>): JsonRecord[] {
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

  // Deployment: one ReplicaSet per distinct pod template, revisions, scaling, status.

  private reconcileDeployment(d: KubeObject): void {
    const { store } = this.options;
    const spec = rec(d.spec);
    const desired = specReplicas(d);
    const paused = spec.paused === true;
    const owned = store.scan(REPLICASETS, d.metadata.namespace).filter((rs) => isControlledBy(rs, d));
    const maxRevision = Math.max(0, ...owned.map(revisionOf));
    let newRs = owned.find((rs) => templatesEqual(rec(rs.spec).template, spec.template));

    if (!paused) {
      if (!newRs) {
        newRs = this.createReplicaSet(d, owned, maxRevision + 1);
      } else {
        newRs = this.syncNewReplicaSetAnnotations(d, newRs, maxRevision);
      }
      d = this.setAnnotations(DEPLOYMENTS, d, {
        ...d.metadata.annotations,
        [REVISION]: String(revisionOf(newRs)),
      });
    }

    if (newRs) {
      const surge = intOrPercent(rec(rec(spec.strategy).rollingUpdate).maxSurge, desired, true);
      newRs = this.setReplicas(REPLICASETS, newRs, desired, {
        [DESIRED_REPLICAS]: String(desired),
        [MAX_REPLICAS]: String(desired + surge),
      });
      // Old ReplicaSets drain only once the new one is fully ready, so a rollout is observable.
      const newReady = num(rec(newRs.status).readyReplicas) ?? 0;
      if (!paused && newReady >= desired) {
        for (const old of owned) {
          if (old.metadata.uid !== newRs.metadata.uid) this.setReplicas(REPLICASETS, old, 0);
        }
      }
    }
    this.pruneHistory(d, newRs);
    this.updateDeploymentStatus(d, newRs);
  }

  private createReplicaSet(d: KubeObject, owned: KubeObject[], revision: number): KubeObject {
    const { store } = this.options;
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
    this.options.logger.debug({ rs: rs.metadata.name, revision, owned: owned.length }, 'new ReplicaSet');
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
    return this.setAnnotations(REPLICASETS, rs, annotations);
  }

  private pruneHistory(d: KubeObject, newRs: KubeObject | undefined): void {
    const limit = num(rec(d.spec).revisionHistoryLimit) ?? 10;
    const old = this.options.store
      .scan(REPLICASETS, d.metadata.namespace)
      .filter((rs) => isControlledBy(rs, d) && rs.metadata.uid !== newRs?.metadata.uid)
      .filter((rs) => specReplicas(rs) === 0 && (num(rec(rs.status).replicas) ?? 0) === 0)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of old.slice(0, Math.max(0, old.length - limit))) this.deleteQuietly(REPLICASETS, rs);
  }

  private updateDeploymentStatus(d: KubeObject, newRs: KubeObject | undefined): void {
    const spec = rec(d.spec);
    const desired = specReplicas(d);
    const owned = this.options.store
      .scan(REPLICASETS, d.metadata.namespace)
      .filter((rs) => isControlledBy(rs, d));
    const sum = (field: string): number => owned.reduce((n, rs) => n + (num(rec(rs.status)[field]) ?? 0), 0);
    const replicas = sum('replicas');
    const ready = sum('readyReplicas');
    const available = sum('availableReplicas');
    const updated = newRs ? (num(rec(this.current(REPLICASETS, newRs)?.status).replicas) ?? 0) : 0;
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
      conditions: this.conditions(old.conditions, [availableCondition, progressing]),
    });
    this.setStatus(DEPLOYMENTS, d, status);
  }

  private current(res: ResourceDef, obj: KubeObject): KubeObject | undefined {
    return this.options.store.peek(res, obj.metadata.namespace, obj.metadata.name);
  }

  // ReplicaSet: pods to match spec.replicas.

  private reconcileReplicaSet(rs: KubeObject): void {
    const desired = specReplicas(rs);
    const pods = this.podsOf(rs);
    if (pods.length < desired) {
      const template = rec(rs.spec).template;
      const createdAt = this.bootstrapping ? Date.parse(rs.metadata.creationTimestamp) : this.now();
      for (let i = pods.length; i < desired; i++) {
        const name = this.uniquePodName(rs);
        this.createPod(rs, template, name, stringMap(rec(rec(template).metadata).labels), createdAt, {
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
      for (const pod of victims.slice(0, pods.length - desired)) this.deletePod(pod);
    }
    const now = this.podsOf(rs);
    const ready = now.filter(isPodReady).length;
    this.setStatus(REPLICASETS, rs, {
      replicas: now.length,
      ...omitZeros({ fullyLabeledReplicas: now.length, readyReplicas: ready, availableReplicas: ready }),
      observedGeneration: rs.metadata.generation,
    });
  }

  private uniquePodName(owner: KubeObject): string {
    for (;;) {
      this.podCounter += 1;
      const name = `${owner.metadata.name}-${nameSuffix(`${owner.metadata.uid}/${this.podCounter}`)}`;
      if (!this.options.store.peek(PODS, owner.metadata.namespace, name)) return name;
    }
  }

  private podsOf(owner: KubeObject): KubeObject[] {
    return this.options.store.scan(PODS, owner.metadata.namespace).filter((p) => isControlledBy(p, owner));
  }

  private createPod(
    owner: KubeObject,
    template: unknown,
    name: string,
    labels: Record<string, string>,
    createdAt: number,
    extra: { generateName?: string; extraSpec?: Record<string, unknown> } = {},
  ): void {
    const index = this.ipCounter++;
    const ready = this.bootstrapping || this.options.readyDelayMs <= 0;
    const pod = buildPod({
      name,
      namespace: owner.metadata.namespace ?? 'default',
      labels,
      owner: controllerRef(owner),
      template,
      nodeName: NODES[index % NODES.length] ?? 'azora-sandbox-node-1',
      podIP: podIpFor(index),
      createdAt,
      ready,
      ...extra,
    });
    const created = this.options.store.create(PODS, pod);
    if (!ready) this.scheduleReady(created);
  }

  /** The kubelet's part for pods created directly through the API: schedule, start, become Ready. */
  private reconcileBarePods(): void {
    for (const stored of this.options.store.scan(PODS)) {
      if (str(rec(stored.status).podIP)) continue;
      const pod = clone(stored);
      const index = this.ipCounter++;
      const nodeName = str(rec(pod.spec).nodeName) ?? NODES[index % NODES.length] ?? 'azora-sandbox-node-1';
      const placed = buildPod({
        name: pod.metadata.name,
        namespace: pod.metadata.namespace ?? 'default',
        labels: pod.metadata.labels ?? {},
        template: { metadata: {}, spec: pod.spec },
        nodeName,
        podIP: podIpFor(index),
        createdAt: Date.parse(pod.metadata.creationTimestamp),
        ready: this.options.readyDelayMs <= 0,
      });
      pod.spec = placed.spec;
      pod.status = placed.status;
      const saved = this.write(PODS, pod);
      if (this.options.readyDelayMs > 0) this.scheduleReady(saved);
    }
  }

  private scheduleReady(pod: KubeObject): void {
    const key = `${pod.metadata.namespace ?? ''}/${pod.metadata.name}`;
    const uid = pod.metadata.uid;
    const timer = setTimeout(() => {
      this.readyTimers.delete(key);
      const current = this.options.store.get(PODS, pod.metadata.namespace, pod.metadata.name);
      if (current && current.metadata.uid === uid && !isPodReady(current)) {
        current.status = podStatus(current, true, this.now());
        this.write(PODS, current);
      }
      this.schedule();
      if (this.isIdle()) this.wakeWaiters();
    }, this.options.readyDelayMs);
    this.readyTimers.set(key, timer);
  }

  private deletePod(pod: KubeObject): void {
    const key = `${pod.metadata.namespace ?? ''}/${pod.metadata.name}`;
    const timer = this.readyTimers.get(key);
    if (timer) clearTimeout(timer);
    this.readyTimers.delete(key);
    this.deleteQuietly(PODS, pod);
  }

  // StatefulSet: pods <name>-0..n-1, created in order, replaced from the top on template change.

  private reconcileStatefulSet(sts: KubeObject): void {
    const spec = rec(sts.spec);
    const desired = specReplicas(sts);
    const name = sts.metadata.name;
    const updateRevision = `${name}-${templateHash(spec.template)}`;
    const ordered = spec.podManagementPolicy !== 'Parallel';
    const pods = new Map<number, KubeObject>();
    for (const pod of this.podsOf(sts)) {
      const suffix = pod.metadata.name.slice(name.length + 1);
      if (pod.metadata.name.startsWith(`${name}-`) && /^\d+$/.test(suffix)) pods.set(Number(suffix), pod);
      else this.deletePod(pod);
    }
    for (const [ordinal, pod] of pods) {
      if (ordinal >= desired) {
        this.deletePod(pod);
        pods.delete(ordinal);
      }
    }
    const createdAt = this.bootstrapping ? Date.parse(sts.metadata.creationTimestamp) : this.now();
    for (let i = 0; i < desired; i++) {
      if (pods.has(i)) continue;
      if (ordered && !this.bootstrapping && [...pods.values()].some((p) => !isPodReady(p))) break;
      const template = clone(rec(spec.template));
      const labels = {
        ...stringMap(rec(template.metadata).labels),
        [STS_REVISION_LABEL]: updateRevision,
        'statefulset.kubernetes.io/pod-name': `${name}-${i}`,
        'apps.kubernetes.io/pod-index': String(i),
      };
      this.createPod(sts, template, `${name}-${i}`, labels, createdAt, {
        extraSpec: {
          hostname: `${name}-${i}`,
          ...(str(spec.serviceName) ? { subdomain: str(spec.serviceName) } : {}),
        },
      });
      const created = this.options.store.peek(PODS, sts.metadata.namespace, `${name}-${i}`);
      if (created) pods.set(i, created);
    }
    // Rolling update: replace the highest outdated ordinal once everything else is ready.
    const outdated = [...pods.entries()]
      .filter(([, p]) => p.metadata.labels?.[STS_REVISION_LABEL] !== updateRevision)
      .sort(([a], [b]) => b - a);
    const first = outdated[0];
    if (first && [...pods.values()].every(isPodReady)) {
      this.deletePod(first[1]);
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
    this.setStatus(STATEFULSETS, sts, {
      observedGeneration: sts.metadata.generation,
      replicas: all.length,
      ...omitZeros({ readyReplicas: ready, currentReplicas: current, updatedReplicas: updated }),
      availableReplicas: ready,
      currentRevision,
      updateRevision,
      collisionCount: 0,
    });
  }

  // Endpoints: the ready (and not-ready) addresses of the pods each Service selects.

  private reconcileEndpoints(): void {
    const { store } = this.options;
    for (const svc of store.scan(SERVICES)) {
      const spec = rec(svc.spec);
      const selectorMap = stringMap(spec.selector);
      if (Object.keys(selectorMap).length === 0) continue;
      const selector = fromMap(selectorMap);
      const pods = store
        .scan(PODS, svc.metadata.namespace)
        .filter((p) => matchesSelector(selector, p.metadata.labels) && str(rec(p.status).podIP));
      const address = (p: KubeObject): JsonRecord => ({
        ip: str(rec(p.status).podIP),
        nodeName: str(rec(p.spec).nodeName),
        targetRef: {
          kind: 'Pod',
          namespace: p.metadata.namespace,
          name: p.metadata.name,
          uid: p.metadata.uid,
        },
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
            creationTimestamp: this.bootstrapping ? svc.metadata.creationTimestamp : '',
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
        this.write(ENDPOINTS, copy);
      }
    }
  }
}

function podIpFor(index: number): string {
  return `10.244.${Math.floor(index / 250) % 250}.${(index % 250) + 2}`;
}

const MANAGED_BY = 'endpoints.kubernetes.io/managed-by';
const ENDPOINT_CONTROLLER = 'endpoint-controller';

function copyableAnnotations(d: KubeObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(d.metadata.annotations ?? {})) {
    if (!DEPLOYMENT_ONLY_ANNOTATIONS.has(key)) out[key] = value;
  }
  return out;
}

function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function omitZeros(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) if (value !== 0 && value !== undefined) out[key] = value;
  return out;
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
