import {
  canonicalJson,
  clone,
  fnv32a,
  num,
  rec,
  safeEncode,
  SAFE_ALPHABET,
  stringMap,
  type JsonRecord,
  type KubeObject,
  type OwnerReference,
} from './types';

/** What the deployment controller and the seed share: hashing, revisions, ownership. */

export const POD_TEMPLATE_HASH = 'pod-template-hash';
export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
export const STS_REVISION_LABEL = 'controller-revision-hash';

/** Deployment annotations that belong to the deployment and are never copied to or from a ReplicaSet. */
export const DEPLOYMENT_ONLY_ANNOTATIONS = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  'deprecated.deployment.rollback.to',
]);

function withoutHashLabel(template: unknown): JsonRecord {
  const copy = clone(rec(template));
  const metadata = rec(copy.metadata);
  const labels = { ...stringMap(metadata.labels) };
  delete labels[POD_TEMPLATE_HASH];
  copy.metadata = { ...metadata, labels };
  return copy;
}

/** Stored templates are frozen, so their canonical form can be computed once per version. */
const canonicalTemplates = new WeakMap<object, string>();

function canonicalTemplate(template: unknown): string {
  const cacheable = typeof template === 'object' && template !== null && Object.isFrozen(template);
  const cached = cacheable ? canonicalTemplates.get(template) : undefined;
  if (cached !== undefined) return cached;
  const text = canonicalJson(withoutHashLabel(template));
  if (cacheable) canonicalTemplates.set(template, text);
  return text;
}

/** The controller's notion of "the same pod template": equal once pod-template-hash is ignored. */
export function templatesEqual(a: unknown, b: unknown): boolean {
  return canonicalTemplate(a) === canonicalTemplate(b);
}

/** Like the controller's ComputeHash: FNV-32a of the template (+ collision count), safe-encoded. */
export function templateHash(template: unknown, collisionCount = 0): string {
  const text = canonicalTemplate(template) + (collisionCount > 0 ? `#${collisionCount}` : '');
  return safeEncode(String(fnv32a(text)));
}

/** Five characters from the generated-name alphabet, stable for the same seed text. */
export function nameSuffix(seed: string): string {
  let h = fnv32a(seed);
  let out = '';
  for (let i = 0; i < 5; i++) {
    out += SAFE_ALPHABET[h % SAFE_ALPHABET.length];
    h = Math.floor(h / SAFE_ALPHABET.length) ^ fnv32a(`${seed}#${i}`);
    h >>>= 0;
  }
  return out;
}

export function revisionOf(obj: KubeObject): number {
  const value = Number(obj.metadata.annotations?.[REVISION]);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

export function controllerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

export function isControlledBy(obj: KubeObject, owner: KubeObject): boolean {
  return controllerOf(obj)?.uid === owner.metadata.uid;
}

export function specReplicas(obj: KubeObject): number {
  return num(rec(obj.spec).replicas) ?? 1;
}

/** An int-or-percent field (maxSurge, maxUnavailable) resolved against a replica count. */
export function intOrPercent(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const m = typeof value === 'string' ? /^(\d+)%$/.exec(value) : null;
  if (!m) return 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}
