import type { Policy } from '../../src/config/policy';
import { badContainer, imageVersion } from './bad-versions';
import { podPhase } from './pods';
import { byKind } from './resources';
import type { ObjectStore } from './store';
import { arr, rec, str, type KubeObject } from './types';

/**
 * What the cluster's apps did over time, for the sandbox's Prometheus to draw: which pods of
 * the policy's services ran when, and when each took traffic (a ready address of its
 * Service's endpoints). Kept from what the store held at each reconcile, so a graph drawn
 * later still shows a pod that has gone since.
 */

const PODS = byKind('Pod');
const ENDPOINTS = byKind('Endpoints');

export interface Span {
  from: number;
  /** Undefined while it lasts. */
  to?: number;
}

export interface PodHistory extends Span {
  namespace: string;
  pod: string;
  /** The policy's name of the service the pod belongs to. */
  service: string;
  /** The version its image names (`v1.6.0-bad`). */
  version: string;
  /** Whether its image is a `-bad` one (see bad-versions.ts). */
  bad: boolean;
  /** Whether it belongs to a StatefulSet (it has a volume of its own). */
  stateful: boolean;
  /** When it took traffic. */
  serving: Span[];
}

interface Tracked extends PodHistory {
  uid: string;
}

export interface TrafficHistoryOptions {
  store: ObjectStore;
  clock: () => number;
  policy: Policy;
  /** How long a pod that has gone is remembered (default 7 h: the graphs look back 6 h at most). */
  retentionMs?: number;
}

/** Endpoints that flap would otherwise grow a pod's record without end. */
const MAX_SPANS = 50;
const DEFAULT_RETENTION_MS = 7 * 60 * 60 * 1000;

export class TrafficHistory {
  private readonly tracked = new Map<string, Tracked>();
  private readonly services = new Map<string, { service: string; stateful: boolean }>();

  /**
   * Whatever the store holds when the history starts has always been so: the seeded
   * cluster stands for a platform that has run for days, and its graphs show that past.
   */
  constructor(private readonly options: TrafficHistoryOptions) {
    for (const [name, svc] of Object.entries(options.policy.services)) {
      if (svc.deployment) this.services.set(svc.deployment, { service: name, stateful: false });
      if (svc.statefulset) this.services.set(svc.statefulset, { service: name, stateful: true });
    }
    this.observe(Number.NEGATIVE_INFINITY);
  }

  /** Brings the record up to date with the store; called after every reconcile. */
  observe(at: number = this.options.clock()): void {
    const { store } = this.options;
    const serving = this.servingUids();
    const seen = new Set<string>();
    for (const pod of store.scan(PODS)) {
      if (podPhase(pod) !== 'Running') continue;
      const record = this.tracked.get(pod.metadata.uid) ?? this.track(pod, at);
      if (!record) continue;
      seen.add(record.uid);
      const open = record.serving.at(-1);
      const isOpen = open !== undefined && open.to === undefined;
      if (serving.has(record.uid) && !isOpen) {
        record.serving.push({ from: at });
        if (record.serving.length > MAX_SPANS) record.serving.splice(0, record.serving.length - MAX_SPANS);
      } else if (!serving.has(record.uid) && isOpen) {
        open.to = at;
      }
    }
    for (const record of this.tracked.values()) {
      if (seen.has(record.uid) || record.to !== undefined) continue;
      record.to = at;
      const open = record.serving.at(-1);
      if (open && open.to === undefined) open.to = at;
    }
    const forgetBefore = at - (this.options.retentionMs ?? DEFAULT_RETENTION_MS);
    for (const [uid, record] of this.tracked) {
      if (record.to !== undefined && record.to < forgetBefore) this.tracked.delete(uid);
    }
  }

  /** The pods that ran at some time between `from` and `to`, as copies. */
  between(from: number, to: number): PodHistory[] {
    const out: PodHistory[] = [];
    for (const { uid: _uid, ...record } of this.tracked.values()) {
      if (record.from > to || (record.to !== undefined && record.to < from)) continue;
      out.push({ ...record, serving: record.serving.map((s) => ({ ...s })) });
    }
    return out.sort((a, b) => `${a.namespace}/${a.pod}`.localeCompare(`${b.namespace}/${b.pod}`));
  }

  private track(pod: KubeObject, at: number): Tracked | undefined {
    const app = pod.metadata.labels?.app;
    const owner = app ? this.services.get(app) : undefined;
    if (!owner) return undefined;
    const bad = badContainer(pod);
    const first = rec(arr(rec(pod.spec).containers)[0]);
    const record: Tracked = {
      uid: pod.metadata.uid,
      namespace: pod.metadata.namespace ?? 'default',
      pod: pod.metadata.name,
      service: owner.service,
      version: imageVersion(bad?.image ?? str(first.image) ?? ''),
      bad: bad !== undefined,
      stateful: owner.stateful,
      from: at,
      serving: [],
    };
    this.tracked.set(record.uid, record);
    return record;
  }

  /** The uids of the pods that are ready addresses of some Endpoints. */
  private servingUids(): Set<string> {
    const { store } = this.options;
    const uids = new Set<string>();
    for (const ep of store.scan(ENDPOINTS)) {
      const namespace = ep.metadata.namespace ?? '';
      for (const subset of arr(ep.subsets)) {
        for (const address of arr(rec(subset).addresses)) {
          const name = str(rec(rec(address).targetRef).name);
          const pod = name ? store.peek(PODS, namespace, name) : undefined;
          if (pod) uids.add(pod.metadata.uid);
        }
      }
    }
    return uids;
  }
}
