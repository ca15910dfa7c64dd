import { createHash } from 'node:crypto';
import { arr, clone, isoSeconds, rec, str, stringMap, type KubeObject, type OwnerReference } from './types';

/** How the simulated kubelet presents pods: scheduled at once, Ready after a delay. */

export const NODES = ['azora-sandbox-node-1', 'azora-sandbox-node-2', 'azora-sandbox-node-3'];

export interface PodPlacement {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  owner?: OwnerReference;
  template: unknown;
  nodeName: string;
  podIP: string;
  /** When the pod was created (and, for a ready pod, when its containers started). */
  createdAt: number;
  ready: boolean;
  extraSpec?: Record<string, unknown>;
  generateName?: string;
}

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function containersOf(spec: unknown): Array<{ name: string; image: string }> {
  return arr(rec(spec).containers).map((c) => ({
    name: str(rec(c).name) ?? '',
    image: str(rec(c).image) ?? '',
  }));
}

function qosClass(spec: unknown): string {
  const resources = arr(rec(spec).containers).map((c) => rec(rec(c).resources));
  if (
    resources.every(
      (r) => Object.keys(rec(r.requests)).length === 0 && Object.keys(rec(r.limits)).length === 0,
    )
  ) {
    return 'BestEffort';
  }
  const guaranteed = resources.every((r) => {
    const limits = rec(r.limits);
    const requests = { ...limits, ...rec(r.requests) };
    return ['cpu', 'memory'].every((k) => limits[k] !== undefined && limits[k] === requests[k]);
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export function podStatus(pod: KubeObject, ready: boolean, at: number): Record<string, unknown> {
  const spec = rec(pod.spec);
  const old = rec(pod.status);
  const time = isoSeconds(at);
  const created = pod.metadata.creationTimestamp;
  const flag = ready ? 'True' : 'False';
  const changed = ready ? time : created;
  const names = containersOf(spec).map((c) => c.name);
  const unready = ready
    ? {}
    : { reason: 'ContainersNotReady', message: `containers with unready status: [${names.join(' ')}]` };
  return {
    phase: ready ? 'Running' : 'Pending',
    conditions: [
      { type: 'PodReadyToStartContainers', status: flag, lastTransitionTime: changed },
      { type: 'Initialized', status: 'True', lastTransitionTime: created },
      { type: 'Ready', status: flag, lastTransitionTime: changed, ...unready },
      { type: 'ContainersReady', status: flag, lastTransitionTime: changed, ...unready },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: created },
    ],
    hostIP: old.hostIP,
    hostIPs: old.hostIPs,
    podIP: old.podIP,
    podIPs: old.podIPs,
    startTime: old.startTime ?? created,
    containerStatuses: containersOf(spec).map((c) => ({
      name: c.name,
      state: ready ? { running: { startedAt: time } } : { waiting: { reason: 'ContainerCreating' } },
      lastState: {},
      ready,
      restartCount: 0,
      image: c.image,
      imageID: `${c.image.split(':')[0]}@sha256:${sha(c.image)}`,
      ...(ready ? { containerID: `containerd://${sha(`${pod.metadata.uid}/${c.name}`)}` } : {}),
      started: ready,
    })),
    qosClass: qosClass(spec),
  };
}

export function buildPod(p: PodPlacement): KubeObject {
  const template = rec(clone(p.template));
  const templateMeta = rec(template.metadata);
  const annotations = stringMap(templateMeta.annotations);
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      ...(p.generateName ? { generateName: p.generateName } : {}),
      namespace: p.namespace,
      uid: '',
      resourceVersion: '',
      creationTimestamp: isoSeconds(p.createdAt),
      labels: p.labels,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      ...(p.owner ? { ownerReferences: [p.owner] } : {}),
    },
    spec: { ...rec(template.spec), ...p.extraSpec, nodeName: p.nodeName },
    status: {
      hostIP: hostIpOf(p.nodeName),
      hostIPs: [{ ip: hostIpOf(p.nodeName) }],
      podIP: p.podIP,
      podIPs: [{ ip: p.podIP }],
      startTime: isoSeconds(p.createdAt),
    },
  };
  pod.status = podStatus(pod, p.ready, p.createdAt);
  return pod;
}

export function hostIpOf(node: string): string {
  const index = NODES.indexOf(node);
  return `10.128.0.${index >= 0 ? index + 10 : 99}`;
}

export function isPodReady(pod: KubeObject): boolean {
  const conditions = arr(rec(pod.status).conditions);
  return conditions.some((c) => rec(c).type === 'Ready' && rec(c).status === 'True');
}

export function podPhase(pod: KubeObject): string {
  return str(rec(pod.status).phase) ?? 'Pending';
}

/** When the pod's containers started (running, or run and exited), which is where its log begins. */
export function containerStartMs(pod: KubeObject): number | undefined {
  for (const cs of arr(rec(pod.status).containerStatuses)) {
    const state = rec(rec(cs).state);
    const started = str(rec(state.running).startedAt) ?? str(rec(state.terminated).startedAt);
    if (started) return Date.parse(started);
  }
  return undefined;
}

/** Whether the pod has run to its end (restartPolicy Never or OnFailure): Succeeded or Failed. */
export function isPodTerminal(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return phase === 'Succeeded' || phase === 'Failed';
}

/**
 * The kubelet's status of a pod whose containers exited (a Job's): Succeeded on exit code 0,
 * else Failed; not ready any more, the containers terminated with Completed or Error.
 */
export function terminatedStatus(
  pod: KubeObject,
  exitCode: number,
  startedAt: number,
  finishedAt: number,
): Record<string, unknown> {
  const old = rec(pod.status);
  const end = isoSeconds(finishedAt);
  const reason = exitCode === 0 ? 'Completed' : 'Error';
  const completed = { reason: 'PodCompleted' };
  return {
    phase: exitCode === 0 ? 'Succeeded' : 'Failed',
    conditions: [
      { type: 'PodReadyToStartContainers', status: 'False', lastTransitionTime: end },
      {
        type: 'Initialized',
        status: 'True',
        lastTransitionTime: pod.metadata.creationTimestamp,
        ...completed,
      },
      { type: 'Ready', status: 'False', lastTransitionTime: end, ...completed },
      { type: 'ContainersReady', status: 'False', lastTransitionTime: end, ...completed },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: pod.metadata.creationTimestamp },
    ],
    hostIP: old.hostIP,
    hostIPs: old.hostIPs,
    podIP: old.podIP,
    podIPs: old.podIPs,
    startTime: old.startTime,
    containerStatuses: containersOf(pod.spec).map((c) => {
      const containerID = `containerd://${sha(`${pod.metadata.uid}/${c.name}`)}`;
      return {
        name: c.name,
        state: {
          terminated: {
            exitCode,
            reason,
            startedAt: isoSeconds(startedAt),
            finishedAt: end,
            containerID,
          },
        },
        lastState: {},
        ready: false,
        restartCount: 0,
        image: c.image,
        imageID: `${c.image.split(':')[0]}@sha256:${sha(c.image)}`,
        containerID,
        started: false,
      };
    }),
    qosClass: old.qosClass ?? qosClass(pod.spec),
  };
}
