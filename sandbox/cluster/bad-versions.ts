import type { Policy } from '../../src/config/policy';
import type { Logger } from '../../src/kernel/log';
import { byKind } from './resources';
import type { ObjectStore } from './store';
import { arr, fnv32a, rec, str, type KubeObject } from './types';

/**
 * Broken releases on purpose: a pod whose image tag ends in `-bad` starts and is Ready like
 * any other (so checks made before it takes traffic pass), but once a Service's endpoints
 * select it, it fails `failAfterMs` later (cluster clock): its health path answers 503, its
 * log shows errors and the guide's AzoraHighErrorRate fires for its service, until it no
 * longer takes traffic (a switch back, a rollback), when the alert resolves.
 */

export const BAD_TAG_SUFFIX = '-bad';
export const ERROR_RATE_ALERT = 'AzoraHighErrorRate';

const ENDPOINTS = byKind('Endpoints');
const PODS = byKind('Pod');

/** The tag of an image reference; undefined for a digest or no tag. */
export function imageTag(image: string): string | undefined {
  if (image.includes('@')) return undefined;
  const lastSlash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > lastSlash ? image.slice(colon + 1) : undefined;
}

/** The version an image names, as the simulated app reports it: its tag, or `latest`. */
export function imageVersion(image: string): string {
  const at = image.indexOf('@');
  if (at >= 0) return image.slice(at + 1, at + 1 + 'sha256:'.length + 12);
  return imageTag(image) ?? 'latest';
}

export function isBadImage(image: string): boolean {
  return imageTag(image)?.endsWith(BAD_TAG_SUFFIX) === true;
}

/** The first container of a pod that runs a `-bad` image. */
export function badContainer(pod: KubeObject): { name: string; image: string } | undefined {
  for (const raw of arr(rec(pod.spec).containers)) {
    const c = rec(raw);
    const image = str(c.image) ?? '';
    if (isBadImage(image)) return { name: str(c.name) ?? '', image };
  }
  return undefined;
}

/** An alert the cluster raises about itself, as Prometheus would from the apps' metrics. */
export interface ClusterAlert {
  alertname: string;
  severity: 'critical';
  namespace: string;
  /** The policy's name of the service (the `service` label of the guide's alerts). */
  service: string;
  /** The version that fails. */
  version: string;
  /** The failing pods, by name. */
  pods: string[];
  status: 'firing' | 'resolved';
  /** Cluster clock, ms. */
  startsAt: number;
  endsAt?: number;
  summary: string;
  description: string;
}

export interface BadVersionOptions {
  store: ObjectStore;
  clock: () => number;
  /** How long after it starts taking traffic a `-bad` pod fails; 0 = at once. */
  failAfterMs: number;
  policy: Policy;
  logger: Logger;
}

interface Serving {
  namespace: string;
  pod: string;
  service: string;
  version: string;
  since: number;
}

interface Window {
  from: number;
  to?: number;
}

export class BadVersionMonitor {
  /** Bad pods taking traffic, by uid. */
  private readonly serving = new Map<string, Serving>();
  /** When each bad pod failed (or will fail while it keeps taking traffic), by uid: its log reads them. */
  private readonly windows = new Map<string, Window[]>();
  /** Firing alerts by namespace/service. */
  private readonly firing = new Map<string, ClusterAlert>();
  private readonly listeners = new Set<(alert: ClusterAlert) => void>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: BadVersionOptions) {}

  /** Listens for alerts firing and resolving; returns the unsubscribe. */
  onAlert(listener: (alert: ClusterAlert) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The alerts firing now. */
  alerts(): ClusterAlert[] {
    return [...this.firing.values()].map((a) => ({ ...a, pods: [...a.pods] }));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  /** Since when the app in `pod` fails, if it does now. */
  failingSince(pod: KubeObject): number | undefined {
    this.check();
    const serving = this.serving.get(pod.metadata.uid);
    if (!serving) return undefined;
    const from = serving.since + this.options.failAfterMs;
    return this.options.clock() >= from ? from : undefined;
  }

  /** Whether the app in the pod with this uid was failing at `at` (for its log lines). */
  failingAt(uid: string, at: number): boolean {
    return (this.windows.get(uid) ?? []).some((w) => w.from <= at && (w.to === undefined || at < w.to));
  }

  /**
   * Brings the picture up to date with the endpoints and the clock: which bad pods take
   * traffic, which of them fail, which alerts fire or resolve. Cheap, and safe to call often.
   */
  check(): void {
    if (this.stopped) return;
    const { store, clock, failAfterMs } = this.options;
    const now = clock();
    const current = this.badPodsTakingTraffic();

    for (const [uid, serving] of this.serving) {
      if (current.has(uid)) continue;
      this.serving.delete(uid);
      const windows = this.windows.get(uid) ?? [];
      const open = windows[windows.length - 1];
      if (open && open.to === undefined) {
        if (open.from <= now) open.to = now;
        else windows.pop();
      }
      this.options.logger.debug({ pod: serving.pod, namespace: serving.namespace }, 'bad pod out of traffic');
    }
    for (const [uid, entry] of current) {
      if (this.serving.has(uid)) continue;
      this.serving.set(uid, { ...entry, since: now });
      const windows = this.windows.get(uid) ?? [];
      windows.push({ from: now + failAfterMs });
      this.windows.set(uid, windows);
    }
    // Pods that are gone take their failure history with them.
    if (this.windows.size > this.serving.size) {
      const live = new Set(store.scan(PODS).map((p) => p.metadata.uid));
      for (const uid of this.windows.keys()) if (!live.has(uid)) this.windows.delete(uid);
    }

    const failing = new Map<
      string,
      { namespace: string; service: string; version: string; pods: string[]; from: number }
    >();
    let nextDue: number | undefined;
    for (const s of this.serving.values()) {
      const from = s.since + failAfterMs;
      if (from > now) {
        nextDue = nextDue === undefined ? from : Math.min(nextDue, from);
        continue;
      }
      const key = `${s.namespace}/${s.service}`;
      const group = failing.get(key);
      if (group) {
        group.pods.push(s.pod);
        group.from = Math.min(group.from, from);
      } else {
        failing.set(key, {
          namespace: s.namespace,
          service: s.service,
          version: s.version,
          pods: [s.pod],
          from,
        });
      }
    }
    for (const [key, group] of failing) {
      if (this.firing.has(key)) continue;
      const alert = errorRateAlert(
        group.namespace,
        group.service,
        group.version,
        group.pods.sort(),
        group.from,
      );
      this.firing.set(key, alert);
      this.emit(alert);
    }
    for (const [key, alert] of this.firing) {
      if (failing.has(key)) continue;
      this.firing.delete(key);
      this.emit({ ...alert, status: 'resolved', endsAt: now });
    }
    this.schedule(nextDue, now);
  }

  /** Ready addresses of every Endpoints object that are pods running a `-bad` image. */
  private badPodsTakingTraffic(): Map<string, Omit<Serving, 'since'>> {
    const { store } = this.options;
    const out = new Map<string, Omit<Serving, 'since'>>();
    for (const ep of store.scan(ENDPOINTS)) {
      const namespace = ep.metadata.namespace ?? '';
      for (const subset of arr(ep.subsets)) {
        for (const address of arr(rec(subset).addresses)) {
          const ref = rec(rec(address).targetRef);
          const name = str(ref.name);
          const pod = name ? store.peek(PODS, namespace, name) : undefined;
          if (!pod || out.has(pod.metadata.uid)) continue;
          const bad = badContainer(pod);
          if (!bad) continue;
          out.set(pod.metadata.uid, {
            namespace,
            pod: pod.metadata.name,
            service: this.serviceName(ep.metadata.name, bad.name),
            version: imageVersion(bad.image),
          });
        }
      }
    }
    return out;
  }

  /** The policy's name for the service a Kubernetes Service stands for; else the container's name. */
  private serviceName(kubeService: string, container: string): string {
    for (const [name, svc] of Object.entries(this.options.policy.services)) {
      if (svc.deployment === kubeService) return name;
    }
    return container || kubeService;
  }

  private schedule(due: number | undefined, now: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (due === undefined || this.stopped) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.check();
      },
      Math.max(1, due - now + 1),
    );
    this.timer.unref();
  }

  private emit(alert: ClusterAlert): void {
    this.options.logger.info(
      {
        alertname: alert.alertname,
        namespace: alert.namespace,
        service: alert.service,
        status: alert.status,
      },
      'simulated cluster alert',
    );
    for (const listener of [...this.listeners]) {
      try {
        listener({ ...alert, pods: [...alert.pods] });
      } catch (err) {
        this.options.logger.error({ err }, 'a cluster alert listener failed');
      }
    }
  }
}

/**
 * The share of requests a failing `-bad` version answers with 5xx: between 20% and 40%,
 * the same for a service and version every time (the alert's summary and the sandbox's
 * Prometheus both say it).
 */
export function badErrorRatio(service: string, version: string): number {
  return (200 + (fnv32a(`${service}/${version}`) % 200)) / 1000;
}

/** The guide's AzoraHighErrorRate for a service whose new version fails, with a ratio that depends on the version only. */
function errorRateAlert(
  namespace: string,
  service: string,
  version: string,
  pods: string[],
  startsAt: number,
): ClusterAlert {
  const ratio = (badErrorRatio(service, version) * 100).toFixed(1);
  return {
    alertname: ERROR_RATE_ALERT,
    severity: 'critical',
    namespace,
    service,
    version,
    pods,
    status: 'firing',
    startsAt,
    summary: `${service} answers 5xx to ${ratio}% of requests (threshold 5%)`,
    description: `The 5xx ratio over 5 minutes has been above 5% since ${version} took traffic (${pods.length} ${pods.length === 1 ? 'pod' : 'pods'} failing).`,
  };
}
