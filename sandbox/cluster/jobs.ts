import { byKind } from './resources';
import { invalid } from './status';
import { arr, clone, isRecord, rec, semanticEqual, str, stringMap, type KubeObject } from './types';
import { controllerOf } from './workload';

/**
 * batch/v1 Jobs as the API server's job strategy shapes them: on create, a selector on the
 * Job's own uid and the labels its pods carry (batch.kubernetes.io/job-name and the legacy
 * job-name, the controller-uid pair), and no status from the client.
 */

export const JOBS = byKind('Job');

export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const LEGACY_JOB_NAME_LABEL = 'job-name';
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';

/** The strategy's PrepareForCreate and generateSelector, once the Job has its uid. */
export function prepareJobForCreate(job: KubeObject): void {
  delete job.status;
  if (!isRecord(job.spec)) job.spec = {};
  const spec = rec(job.spec);
  if (spec.manualSelector === true) return;
  const { name, uid } = job.metadata;
  const template = isRecord(spec.template) ? spec.template : (spec.template = {});
  const metadata = isRecord(template.metadata) ? template.metadata : (template.metadata = {});
  metadata.labels = {
    ...stringMap(metadata.labels),
    [CONTROLLER_UID_LABEL]: uid,
    [JOB_NAME_LABEL]: name,
    [LEGACY_CONTROLLER_UID_LABEL]: uid,
    [LEGACY_JOB_NAME_LABEL]: name,
  };
  const generated = { matchLabels: { [CONTROLLER_UID_LABEL]: uid } };
  if (spec.selector !== undefined && !semanticEqual(spec.selector, generated)) {
    const given = stringMap(rec(spec.selector).matchLabels);
    const shown = Object.keys(given)
      .sort()
      .map((k) => `"${k}":"${given[k]}"`)
      .join(', ');
    throw invalid(JOBS, name, [
      {
        field: 'spec.selector',
        display: `v1.LabelSelector{MatchLabels:map[string]string{${shown}}}`,
        detail: '`selector` not auto-generated',
      },
    ]);
  }
  spec.selector = generated;
}

export type JobPhase = 'running' | 'complete' | 'failed';

/** Where a Job stands by its conditions, as `kubectl get jobs` reads them. */
export function jobPhase(job: KubeObject): JobPhase {
  if (hasCondition(job, 'Complete')) return 'complete';
  if (hasCondition(job, 'Failed')) return 'failed';
  return 'running';
}

export function hasCondition(job: KubeObject, type: string): boolean {
  return arr(rec(job.status).conditions).some((c) => rec(c).type === type && rec(c).status === 'True');
}

/** Whether a pod is one of a Job's: by its controller, or by the label an orphaned one keeps. */
export function isJobPod(pod: KubeObject): boolean {
  return controllerOf(pod)?.kind === 'Job' || pod.metadata.labels?.[JOB_NAME_LABEL] !== undefined;
}

/** The Job template's container command and args, as one list of words. */
export function commandOf(container: unknown): string[] {
  const c = rec(container);
  return [...arr(c.command), ...arr(c.args)].filter((w): w is string => typeof w === 'string');
}

/** The pod spec's first container (a Job's pod has one here). */
export function firstContainer(pod: KubeObject): Record<string, unknown> {
  return rec(arr(rec(pod.spec).containers)[0]);
}

/** The value of each plain `env` entry; entries taken from a Secret or ConfigMap are `''` (set, unread). */
export function envOf(container: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of arr(rec(container).env)) {
    const e = rec(raw);
    const name = str(e.name);
    if (!name) continue;
    out[name] = str(e.value) ?? '';
  }
  return out;
}

/** A copy of the template, for the pods the Job controller creates. */
export function jobTemplate(job: KubeObject): Record<string, unknown> {
  return rec(clone(rec(job.spec).template));
}
