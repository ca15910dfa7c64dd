/** The resource types the simulator serves, as discovery announces them. */

export interface SubresourceDef {
  /** The kind the subresource speaks, when it differs from the parent (Scale for /scale). */
  group?: string;
  version?: string;
  kind: string;
  verbs: string[];
}

export interface ResourceDef {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  subresources: Record<string, SubresourceDef>;
  /** Whether writes to the main resource keep the stored status (it has a /status subresource). */
  statusSubresource: boolean;
  /** Whether the registry maintains metadata.generation (workloads and HPAs do, Services do not). */
  generation: boolean;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const STATUS: SubresourceDef = { kind: '', verbs: ['get', 'patch', 'update'] };
const SCALE: SubresourceDef = {
  group: 'autoscaling',
  version: 'v1',
  kind: 'Scale',
  verbs: ['get', 'patch', 'update'],
};

function def(
  group: string,
  version: string,
  kind: string,
  plural: string,
  extra: Partial<Pick<ResourceDef, 'namespaced' | 'shortNames' | 'categories' | 'verbs' | 'generation'>> & {
    subresources?: Record<string, SubresourceDef>;
  } = {},
): ResourceDef {
  const subresources: Record<string, SubresourceDef> = {};
  for (const [name, sub] of Object.entries(extra.subresources ?? {})) {
    subresources[name] = sub.kind === '' ? { ...sub, kind } : sub;
  }
  return {
    group,
    version,
    kind,
    plural,
    singular: kind.toLowerCase(),
    namespaced: extra.namespaced ?? true,
    shortNames: extra.shortNames ?? [],
    categories: extra.categories ?? [],
    verbs: extra.verbs ?? ALL_VERBS,
    subresources,
    statusSubresource: 'status' in subresources,
    generation: extra.generation ?? false,
  };
}

export const RESOURCES: readonly ResourceDef[] = [
  def('', 'v1', 'Namespace', 'namespaces', {
    namespaced: false,
    shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: { status: STATUS },
  }),
  // Read by `kubectl get nodes` and `describe`, which the guide's troubleshooting uses; the pods name them.
  def('', 'v1', 'Node', 'nodes', {
    namespaced: false,
    shortNames: ['no'],
    subresources: { status: STATUS },
  }),
  // Each node's heartbeat, which kubectl describe node shows.
  def('coordination.k8s.io', 'v1', 'Lease', 'leases'),
  def('', 'v1', 'Pod', 'pods', {
    shortNames: ['po'],
    categories: ['all'],
    subresources: {
      status: STATUS,
      log: { kind: 'Pod', verbs: ['get'] },
      proxy: { kind: 'PodProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] },
    },
  }),
  def('', 'v1', 'Service', 'services', {
    shortNames: ['svc'],
    categories: ['all'],
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: {
      status: STATUS,
      proxy: { kind: 'ServiceProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] },
    },
  }),
  def('', 'v1', 'Endpoints', 'endpoints', { shortNames: ['ep'] }),
  // What kubectl 1.33's describe of a Service reads its endpoints from.
  def('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices'),
  def('', 'v1', 'Event', 'events', { shortNames: ['ev'] }),
  def('apps', 'v1', 'Deployment', 'deployments', {
    generation: true,
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: { scale: SCALE, status: STATUS },
  }),
  def('apps', 'v1', 'ReplicaSet', 'replicasets', {
    generation: true,
    shortNames: ['rs'],
    categories: ['all'],
    subresources: { scale: SCALE, status: STATUS },
  }),
  def('apps', 'v1', 'StatefulSet', 'statefulsets', {
    generation: true,
    shortNames: ['sts'],
    categories: ['all'],
    subresources: { scale: SCALE, status: STATUS },
  }),
  def('batch', 'v1', 'Job', 'jobs', {
    generation: true,
    categories: ['all'],
    subresources: { status: STATUS },
  }),
  def('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', {
    generation: true,
    shortNames: ['hpa'],
    categories: ['all'],
    subresources: { status: STATUS },
  }),
  // metrics-server's samples (controllers/metrics.ts), what `kubectl top` reads. Listed
  // after the core kinds, so that `pods` and `nodes` mean those.
  def('metrics.k8s.io', 'v1beta1', 'PodMetrics', 'pods', { verbs: ['get', 'list'] }),
  def('metrics.k8s.io', 'v1beta1', 'NodeMetrics', 'nodes', { namespaced: false, verbs: ['get', 'list'] }),
  // The same objects, stored as v2, as older clients ask for them (kubectl 1.20's describe
  // and autoscale): converted on the way in and out (conversion.ts). After v2: the
  // preferred version is the first one discovery names.
  def('autoscaling', 'v1', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', {
    generation: true,
    shortNames: ['hpa'],
    categories: ['all'],
  }),
];

export function apiVersionOf(res: Pick<ResourceDef, 'group' | 'version'>): string {
  return res.group === '' ? res.version : `${res.group}/${res.version}`;
}

/** `deployments.apps` or `pods`: how the API server names a resource in messages. */
export function qualifiedName(res: ResourceDef): string {
  return res.group === '' ? res.plural : `${res.plural}.${res.group}`;
}

/** `Deployment.apps` or `Pod`: how validation messages name a kind. */
export function qualifiedKind(res: ResourceDef): string {
  return res.group === '' ? res.kind : `${res.kind}.${res.group}`;
}

export function resourceKey(res: ResourceDef): string {
  return `${res.group}/${res.plural}`;
}

export function findResource(group: string, version: string, plural: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

/** Lets tests say 'Deployment', 'deployments', 'deploy' or 'deployments.apps'. */
export function resolveKind(name: string): ResourceDef {
  const lower = name.toLowerCase();
  const found = RESOURCES.find(
    (r) =>
      r.kind.toLowerCase() === lower ||
      r.plural === lower ||
      r.singular === lower ||
      r.shortNames.includes(lower) ||
      qualifiedName(r) === lower,
  );
  if (!found) throw new Error(`the simulated cluster has no resource type '${name}'`);
  return found;
}

export function byKind(kind: string): ResourceDef {
  const found = RESOURCES.find((r) => r.kind === kind);
  if (!found) throw new Error(`no resource type for kind ${kind}`);
  return found;
}
