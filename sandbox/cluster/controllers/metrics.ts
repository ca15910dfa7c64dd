import { createHash } from 'node:crypto';
import { NODES, podPhase } from '../pods';
import { arr, isoSeconds, rec, str, stringMap, type KubeObject } from '../types';
import type { ResourceDef } from '../resources';
import { NODE_METRICS, NODE_OBJECTS, POD_METRICS, PODS, sameJson, type ControllerContext } from './context';

/** What metrics-server reports each sample for: its scrape window. */
const WINDOW = '30s';
/** What a node's own daemons (kubelet, container runtime, kube-proxy) use besides the pods. */
const NODE_BASE = { milliCpu: 180, bytes: 900 * 2 ** 20 };

interface Usage {
  milliCpu: number;
  bytes: number;
}

/**
 * metrics-server: what each running pod's containers use, and each node in all, as
 * metrics.k8s.io serves it (what `kubectl top` reads). A container uses a steady share of
 * what it requests, 15–55 % of its CPU and 40–80 % of its memory, the share drawn from its
 * pod's name, so the same pod always shows the same figures.
 */
export class MetricsController {
  constructor(private readonly ctx: ControllerContext) {}

  reconcile(): void {
    const { store } = this.ctx;
    const perNode = new Map<string, Usage>(NODES.map((n) => [n, { ...NODE_BASE }]));
    const live = new Set<string>();
    for (const pod of store.scan(PODS)) {
      if (podPhase(pod) !== 'Running') continue;
      const { namespace = '', name } = pod.metadata;
      live.add(`${namespace}/${name}`);
      const containers = arr(rec(pod.spec).containers).map((c) => ({
        name: str(rec(c).name) ?? '',
        usage: usageOf(
          `${namespace}/${name}/${str(rec(c).name) ?? ''}`,
          stringMap(rec(rec(c).resources).requests),
        ),
      }));
      const node = perNode.get(str(rec(pod.spec).nodeName) ?? '');
      for (const c of containers) if (node) add(node, c.usage);
      this.keep(POD_METRICS, pod, {
        containers: containers.map((c) => ({ name: c.name, usage: quantities(c.usage) })),
      });
    }
    for (const sample of store.scan(POD_METRICS))
      if (!live.has(`${sample.metadata.namespace}/${sample.metadata.name}`))
        this.ctx.deleteQuietly(POD_METRICS, sample);
    for (const [name, usage] of perNode) {
      const node = store.peek(NODE_OBJECTS, undefined, name);
      if (node) this.keep(NODE_METRICS, node, { usage: quantities(usage) });
    }
  }

  /** Writes the sample of `of` when it is new or its figures changed, stamped with the time it was taken. */
  private keep(res: ResourceDef, of: KubeObject, figures: Record<string, unknown>): void {
    const { store } = this.ctx;
    const { namespace, name } = of.metadata;
    const existing = store.peek(res, namespace, name);
    const sameFigures = existing && Object.entries(figures).every(([k, v]) => sameJson(existing[k], v));
    if (sameFigures) return;
    const sample: KubeObject = {
      apiVersion: 'metrics.k8s.io/v1beta1',
      kind: res.kind,
      metadata: {
        name,
        ...(namespace !== undefined ? { namespace } : {}),
        uid: '',
        resourceVersion: existing?.metadata.resourceVersion ?? '',
        creationTimestamp: existing?.metadata.creationTimestamp ?? '',
        labels: { ...of.metadata.labels },
      },
      timestamp: isoSeconds(this.ctx.now()),
      window: WINDOW,
      ...figures,
    };
    if (existing) this.ctx.write(res, { ...sample, metadata: { ...existing.metadata, ...sample.metadata } });
    else store.create(res, sample);
  }
}

function usageOf(seed: string, requests: Record<string, string>): Usage {
  const digest = createHash('sha256').update(seed).digest();
  const share = (byte: number, low: number, high: number) => low + ((high - low) * byte) / 255;
  return {
    milliCpu: Math.max(1, Math.round(milliCpuOf(requests.cpu ?? '100m') * share(digest[0]!, 0.15, 0.55))),
    bytes: Math.round(bytesOf(requests.memory ?? '128Mi') * share(digest[1]!, 0.4, 0.8)),
  };
}

function add(total: Usage, usage: Usage): void {
  total.milliCpu += usage.milliCpu;
  total.bytes += usage.bytes;
}

/** As metrics-server writes them: CPU in nanocores, memory in KiB. */
const quantities = (usage: Usage) => ({
  cpu: `${usage.milliCpu * 1_000_000}n`,
  memory: `${Math.round(usage.bytes / 1024)}Ki`,
});

function milliCpuOf(quantity: string): number {
  return quantity.endsWith('m') ? Number(quantity.slice(0, -1)) : Number(quantity) * 1000;
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

function bytesOf(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)([KMGT]i|[kMGT])?$/.exec(quantity);
  if (!match) return 0;
  const unit = match[2] ?? '';
  return Number(match[1]) * (BINARY[unit] ?? DECIMAL[unit] ?? 1);
}
