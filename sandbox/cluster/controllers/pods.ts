import { buildPod, isPodReady, NODES, podStatus } from '../pods';
import { clone, rec, str, type KubeObject } from '../types';
import { controllerRef, isControlledBy, nameSuffix } from '../workload';
import { PODS, type ControllerContext } from './context';

export interface PodOptions {
  /** How long a new pod stays Pending before it is Running and Ready; 0 makes it Ready at once. */
  readyDelayMs: number;
  /** Called when a readiness timer has fired and written its pod: the coordinator reconciles again. */
  onReady: () => void;
}

/**
 * The kubelet's part: pods get a node and an IP, and become Ready after a delay. The
 * ReplicaSet and StatefulSet controllers create and delete their pods through it, so that
 * names, addresses and readiness timers are handed out in one place.
 */
export class PodController {
  private readonly readyTimers = new Map<string, NodeJS.Timeout>();
  private podCounter = 0;
  private ipCounter = 0;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly options: PodOptions,
  ) {}

  /** Pods waiting to become Ready. */
  get pending(): number {
    return this.readyTimers.size;
  }

  stop(): void {
    for (const timer of this.readyTimers.values()) clearTimeout(timer);
    this.readyTimers.clear();
  }

  /** Pods created directly through the API: schedule, start, become Ready. */
  reconcile(): void {
    const { readyDelayMs } = this.options;
    for (const stored of this.ctx.store.scan(PODS)) {
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
        ready: readyDelayMs <= 0,
      });
      pod.spec = placed.spec;
      pod.status = placed.status;
      const saved = this.ctx.write(PODS, pod);
      if (readyDelayMs > 0) this.scheduleReady(saved);
    }
  }

  /** The pods `owner` controls. */
  podsOf(owner: KubeObject): KubeObject[] {
    return this.ctx.store.scan(PODS, owner.metadata.namespace).filter((p) => isControlledBy(p, owner));
  }

  uniqueName(owner: KubeObject): string {
    for (;;) {
      this.podCounter += 1;
      const name = `${owner.metadata.name}-${nameSuffix(`${owner.metadata.uid}/${this.podCounter}`)}`;
      if (!this.ctx.store.peek(PODS, owner.metadata.namespace, name)) return name;
    }
  }

  create(
    owner: KubeObject,
    template: unknown,
    name: string,
    labels: Record<string, string>,
    createdAt: number,
    extra: { generateName?: string; extraSpec?: Record<string, unknown> } = {},
  ): void {
    const index = this.ipCounter++;
    const ready = this.ctx.bootstrapping || this.options.readyDelayMs <= 0;
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
    const created = this.ctx.store.create(PODS, pod);
    if (!ready) this.scheduleReady(created);
  }

  delete(pod: KubeObject): void {
    const key = `${pod.metadata.namespace ?? ''}/${pod.metadata.name}`;
    const timer = this.readyTimers.get(key);
    if (timer) clearTimeout(timer);
    this.readyTimers.delete(key);
    this.ctx.deleteQuietly(PODS, pod);
  }

  private scheduleReady(pod: KubeObject): void {
    const key = `${pod.metadata.namespace ?? ''}/${pod.metadata.name}`;
    const uid = pod.metadata.uid;
    const timer = setTimeout(() => {
      this.readyTimers.delete(key);
      const current = this.ctx.store.get(PODS, pod.metadata.namespace, pod.metadata.name);
      if (current && current.metadata.uid === uid && !isPodReady(current)) {
        current.status = podStatus(current, true, this.ctx.now());
        this.ctx.write(PODS, current);
      }
      this.options.onReady();
    }, this.options.readyDelayMs);
    this.readyTimers.set(key, timer);
  }
}

function podIpFor(index: number): string {
  return `10.244.${Math.floor(index / 250) % 250}.${(index % 250) + 2}`;
}
