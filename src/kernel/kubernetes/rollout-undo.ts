import type { V1Deployment, V1PodTemplateSpec, V1ReplicaSet } from '@kubernetes/client-node';
import { RELEASES_ANNOTATION } from '../domain/release';
import { KubeError } from './errors';

export const REVISION = 'deployment.kubernetes.io/revision';
const POD_TEMPLATE_HASH = 'pod-template-hash';

/**
 * Annotations that describe the Deployment itself; a rollback keeps the Deployment's own
 * (kubectl's rollback.go). One more than kubectl keeps: the bot's release history, which the
 * deployment controller copies onto every ReplicaSet, so taking the old ReplicaSet's copy
 * would turn the history back to what it was when that ReplicaSet was current.
 */
const DEPLOYMENT_OWN_ANNOTATIONS = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
  RELEASES_ANNOTATION,
]);

export const revisionOf = (rs: { metadata?: { annotations?: Record<string, string> } }): number =>
  Number(rs.metadata?.annotations?.[REVISION] ?? 0) || 0;

/** The ReplicaSets this Deployment controls, newest revision first. */
export function ownedReplicaSets(deployment: V1Deployment, replicaSets: V1ReplicaSet[]): V1ReplicaSet[] {
  const uid = deployment.metadata?.uid;
  return replicaSets
    .filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.controller && o.uid === uid))
    .sort((a, b) => revisionOf(b) - revisionOf(a));
}

export function assertNotPaused(deployment: V1Deployment): void {
  const name = deployment.metadata?.name ?? '?';
  if (deployment.spec?.paused) {
    throw new KubeError(
      'precondition',
      `deployment ${name} is paused; resume it (kubectl rollout resume deployment/${name}) before rolling back`,
    );
  }
}

/**
 * The ReplicaSet `kubectl rollout undo` would go back to: the exact revision asked for,
 * or else the second newest.
 */
export function chooseRollbackReplicaSet(
  deployment: V1Deployment,
  owned: V1ReplicaSet[],
  toRevision?: number,
): V1ReplicaSet {
  const name = deployment.metadata?.name ?? '?';
  assertNotPaused(deployment);
  if (toRevision !== undefined) {
    const exact = owned.find((rs) => revisionOf(rs) === toRevision);
    if (!exact) {
      const known = owned.map(revisionOf).join(', ') || 'none';
      throw new KubeError(
        'precondition',
        `deployment ${name} has no revision ${toRevision} (revisions: ${known})`,
      );
    }
    return exact;
  }
  const previous = owned[1];
  if (!previous)
    throw new KubeError('precondition', `deployment ${name} has no earlier revision to roll back to`);
  return previous;
}

/** Plain JSON of a pod template without the hash label, for comparing and for the patch. */
export function templateWithoutHash(template: V1PodTemplateSpec | undefined): V1PodTemplateSpec {
  const copy = JSON.parse(JSON.stringify(template ?? {})) as V1PodTemplateSpec;
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH];
  }
  return copy;
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}

export function sameTemplate(a: V1PodTemplateSpec | undefined, b: V1PodTemplateSpec | undefined): boolean {
  return canonical(templateWithoutHash(a)) === canonical(templateWithoutHash(b));
}

export type JsonPatch = Array<{ op: 'replace'; path: string; value: unknown }>;

/** The JSON patch `kubectl rollout undo` sends: the old template, and the old ReplicaSet's annotations. */
export function rollbackPatch(deployment: V1Deployment, target: V1ReplicaSet): JsonPatch {
  const own = deployment.metadata?.annotations ?? {};
  const annotations: Record<string, string> = {};
  for (const key of DEPLOYMENT_OWN_ANNOTATIONS) {
    if (own[key] !== undefined) annotations[key] = own[key];
  }
  for (const [key, value] of Object.entries(target.metadata?.annotations ?? {})) {
    if (!DEPLOYMENT_OWN_ANNOTATIONS.has(key)) annotations[key] = value;
  }
  return [
    { op: 'replace', path: '/spec/template', value: templateWithoutHash(target.spec?.template) },
    { op: 'replace', path: '/metadata/annotations', value: annotations },
  ];
}

export const imagesOf = (template: V1PodTemplateSpec | undefined): string =>
  (template?.spec?.containers ?? []).map((c) => c.image ?? '?').join(', ');
