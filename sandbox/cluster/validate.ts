import type { ResourceDef } from './resources';
import { fromLabelSelector, matchesSelector } from './selectors';
import { invalid, type FieldError } from './status';
import { arr, isRecord, num, rec, semanticEqual, str, stringMap, type KubeObject } from './types';

/** The part of API validation that clients of this simulator can run into. */

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Go's %#v of a map[string]string, which the API server prints in label mismatch messages. */
function goMap(map: Record<string, string>): string {
  const entries = Object.keys(map)
    .sort()
    .map((k) => `"${k}":"${map[k]}"`);
  return `map[string]string{${entries.join(', ')}}`;
}

function validateName(res: ResourceDef, name: string, errors: FieldError[]): void {
  if (!name) {
    errors.push({
      field: 'metadata.name',
      type: 'FieldValueRequired',
      detail: 'name or generateName is required',
    });
    return;
  }
  const label = res.plural === 'namespaces' || res.plural === 'services';
  const pattern = label ? DNS_LABEL : DNS_SUBDOMAIN;
  if (!pattern.test(name) || name.length > (label ? 63 : 253)) {
    errors.push({
      field: 'metadata.name',
      value: name,
      detail: label
        ? `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`
        : `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    });
  }
}

function validateReplicas(value: unknown, field: string, errors: FieldError[]): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    errors.push({ field, value, detail: 'must be an integer' });
  } else if (value < 0) {
    errors.push({ field, value, detail: 'must be greater than or equal to 0' });
  }
}

function validatePodSpec(spec: unknown, field: string, errors: FieldError[]): void {
  const containers = arr(rec(spec).containers);
  if (containers.length === 0) {
    errors.push({ field: `${field}.containers`, type: 'FieldValueRequired', detail: '' });
    return;
  }
  const seen = new Set<string>();
  containers.forEach((c, i) => {
    const name = str(rec(c).name);
    const at = `${field}.containers[${i}]`;
    if (!name) errors.push({ field: `${at}.name`, type: 'FieldValueRequired', detail: '' });
    else if (seen.has(name)) errors.push({ field: `${at}.name`, value: name, detail: 'Duplicate value' });
    else seen.add(name);
    if (!str(rec(c).image)) errors.push({ field: `${at}.image`, type: 'FieldValueRequired', detail: '' });
  });
}

function validateWorkload(obj: KubeObject, old: KubeObject | undefined, errors: FieldError[]): void {
  const spec = rec(obj.spec);
  validateReplicas(spec.replicas, 'spec.replicas', errors);
  const selector = fromLabelSelector(spec.selector);
  if (!selector) {
    errors.push({ field: 'spec.selector', type: 'FieldValueRequired', detail: '' });
  } else {
    const labels = stringMap(rec(rec(spec.template).metadata).labels);
    if (!matchesSelector(selector, labels)) {
      errors.push({
        field: 'spec.template.metadata.labels',
        display: goMap(labels),
        detail: '`selector` does not match template `labels`',
      });
    }
  }
  if (old && !semanticEqual(spec.selector, rec(old.spec).selector)) {
    errors.push({
      field: 'spec.selector',
      display: `v1.LabelSelector{MatchLabels:${goMap(stringMap(rec(spec.selector).matchLabels))}}`,
      detail: 'field is immutable',
    });
  }
  validatePodSpec(rec(spec.template).spec, 'spec.template.spec', errors);
}

function validateNonNegative(value: unknown, field: string, errors: FieldError[]): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value))
    errors.push({ field, value, detail: 'must be an integer' });
  else if (value < 0) errors.push({ field, value, detail: 'must be greater than or equal to 0' });
}

/** batch/v1 Job: the generated selector selects the template, pods never restart in place, the template is fixed. */
function validateJob(obj: KubeObject, old: KubeObject | undefined, errors: FieldError[]): void {
  const spec = rec(obj.spec);
  for (const field of ['parallelism', 'completions', 'backoffLimit', 'activeDeadlineSeconds']) {
    validateNonNegative(spec[field], `spec.${field}`, errors);
  }
  const template = rec(spec.template);
  const labels = stringMap(rec(template.metadata).labels);
  const selector = fromLabelSelector(spec.selector);
  if (!selector) {
    errors.push({ field: 'spec.selector', type: 'FieldValueRequired', detail: '' });
  } else if (!matchesSelector(selector, labels)) {
    errors.push({
      field: 'spec.template.metadata.labels',
      display: goMap(labels),
      detail: '`selector` does not match template `labels`',
    });
  }
  for (const [key, value] of Object.entries(labels)) {
    if (value.length > 63) {
      errors.push({
        field: 'spec.template.labels',
        value,
        detail: `must be no more than 63 characters (label ${key})`,
      });
    }
  }
  const restartPolicy = rec(template.spec).restartPolicy;
  if (restartPolicy !== 'OnFailure' && restartPolicy !== 'Never') {
    errors.push({
      field: 'spec.template.spec.restartPolicy',
      type: 'FieldValueNotSupported',
      value: restartPolicy ?? '',
      supported: ['OnFailure', 'Never'],
      detail: '',
    });
  }
  validatePodSpec(template.spec, 'spec.template.spec', errors);
  if (old) {
    const before = rec(old.spec);
    if (!semanticEqual(spec.selector, before.selector)) {
      errors.push({
        field: 'spec.selector',
        display: `v1.LabelSelector{MatchLabels:${goMap(stringMap(rec(spec.selector).matchLabels))}}`,
        detail: 'field is immutable',
      });
    }
    if (!semanticEqual(spec.template, before.template)) {
      errors.push({
        field: 'spec.template',
        display: 'core.PodTemplateSpec{...}',
        detail: 'field is immutable',
      });
    }
    if (!semanticEqual(spec.completions, before.completions)) {
      errors.push({ field: 'spec.completions', value: spec.completions, detail: 'field is immutable' });
    }
  }
}

function validateHpa(obj: KubeObject, errors: FieldError[]): void {
  const spec = rec(obj.spec);
  const min = num(spec.minReplicas) ?? 1;
  const max = spec.maxReplicas;
  if (min < 1)
    errors.push({ field: 'spec.minReplicas', value: min, detail: 'must be greater than or equal to 1' });
  if (typeof max !== 'number') {
    errors.push({ field: 'spec.maxReplicas', type: 'FieldValueRequired', detail: '' });
  } else if (max < min) {
    errors.push({
      field: 'spec.maxReplicas',
      value: max,
      detail: 'must be greater than or equal to `minReplicas`',
    });
  }
  const ref = rec(spec.scaleTargetRef);
  if (!str(ref.kind))
    errors.push({ field: 'spec.scaleTargetRef.kind', type: 'FieldValueRequired', detail: '' });
  if (!str(ref.name))
    errors.push({ field: 'spec.scaleTargetRef.name', type: 'FieldValueRequired', detail: '' });
}

function validateService(obj: KubeObject, errors: FieldError[]): void {
  arr(rec(obj.spec).ports).forEach((p, i) => {
    const port = rec(p).port;
    if (typeof port !== 'number' || port < 1 || port > 65535) {
      errors.push({
        field: `spec.ports[${i}].port`,
        value: port,
        detail: 'must be between 1 and 65535, inclusive',
      });
    }
  });
}

/** Throws a 422 Invalid Status listing every problem, like the API server. */
export function validateObject(res: ResourceDef, obj: KubeObject, old?: KubeObject): void {
  const errors: FieldError[] = [];
  validateName(res, obj.metadata.name, errors);
  switch (obj.kind) {
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
      validateWorkload(obj, old, errors);
      break;
    case 'Pod':
      validatePodSpec(obj.spec, 'spec', errors);
      break;
    case 'Job':
      validateJob(obj, old, errors);
      break;
    case 'HorizontalPodAutoscaler':
      validateHpa(obj, errors);
      break;
    case 'Service':
      validateService(obj, errors);
      break;
  }
  if (isRecord(obj.metadata.labels)) {
    for (const [key, value] of Object.entries(obj.metadata.labels)) {
      if (typeof value !== 'string' || value.length > 63) {
        errors.push({ field: `metadata.labels`, value, detail: `invalid label value for "${key}"` });
      }
    }
  }
  if (errors.length > 0) throw invalid(res, obj.metadata.name, errors);
}

export function validateScaleReplicas(name: string, replicas: unknown): void {
  const errors: FieldError[] = [];
  if (replicas === undefined) errors.push({ field: 'spec.replicas', type: 'FieldValueRequired', detail: '' });
  else validateReplicas(replicas, 'spec.replicas', errors);
  if (errors.length > 0) throw invalid({ group: 'autoscaling', kind: 'Scale' }, name, errors);
}
