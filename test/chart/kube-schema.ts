import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as metaV1 from '@kubernetes-models/apimachinery/apis/meta/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as coreV1 from 'kubernetes-models/v1';
import type { Manifest } from './chart';

/**
 * Kubernetes' own validation of an object, offline: the OpenAPI schema of its kind and
 * version, as the devDependency kubernetes-models 4.5.1 ships it compiled (generated from
 * the Kubernetes 1.33 OpenAPI spec: types, enums, required fields, int32/int64 formats,
 * quantities and int-or-strings), plus what `kubectl --validate=strict` adds and those
 * validators lack: an unknown field is an error. A field counts as known when the schema's
 * validator reads it (each object is handed to it behind a Proxy that records the reads),
 * so the list of fields comes from the schema itself, not from this file. Duplicate keys
 * are refused earlier, by the YAML reader (parseManifests).
 *
 * Custom resources: ServiceMonitor, PodMonitor and PrometheusRule (monitoring.coreos.com/v1)
 * against the prometheus-operator CRD schemas of @kubernetes-models/prometheus-operator
 * 4.4.4, in the same way. SealedSecret (bitnami.com/v1alpha1) has no schema package for the
 * kubernetes-models 4 used here (@kubernetes-models/sealed-secrets 6 is built on version 5):
 * its apiVersion, kind and metadata (and its template's metadata) are checked.
 */

type ModelClass = { apiVersion?: string; kind?: string; prototype: { validate(): void } };

const GROUP_VERSIONS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'autoscaling/v2': autoscalingV2,
  'networking.k8s.io/v1': networkingV1,
  'policy/v1': policyV1,
  'rbac.authorization.k8s.io/v1': rbacV1,
  'monitoring.coreos.com/v1': monitoringV1,
};

/** Kinds checked for apiVersion, kind and metadata only, and why. */
export const METADATA_ONLY: Record<string, string> = {
  'bitnami.com/v1alpha1 SealedSecret':
    'no SealedSecret schema package for kubernetes-models 4 (@kubernetes-models/sealed-secrets 6 needs 5)',
};

interface Seen {
  path: string;
  keys: string[];
  read: Set<string>;
}

/** A deep copy of `value` whose objects record which of their keys the validator reads. */
function tracked(value: unknown, path: string, seen: Seen[]): unknown {
  if (Array.isArray(value)) return value.map((item, i) => tracked(item, `${path}/${i}`, seen));
  if (value === null || typeof value !== 'object') return value;
  const entry: Seen = { path, keys: Object.keys(value), read: new Set() };
  seen.push(entry);
  const copy = Object.fromEntries(
    Object.entries(value).map(([key, child]) => [key, tracked(child, `${path}/${key}`, seen)]),
  );
  return new Proxy(copy, {
    get(target, key, receiver) {
      if (typeof key === 'string') entry.read.add(key);
      return Reflect.get(target, key, receiver) as unknown;
    },
    has(target, key) {
      if (typeof key === 'string') entry.read.add(key);
      return Reflect.has(target, key);
    },
  });
}

export interface SchemaCheck {
  /** What the schema refuses, `/path message`; empty when the object is valid. */
  errors: string[];
  /** Objects the schema does not look into (free-form fields), by path: not checked. */
  unchecked: string[];
}

/** Runs a kubernetes-models validator on `value`, strictly (unknown fields are errors). */
function check(model: ModelClass, value: unknown, at = ''): SchemaCheck {
  const seen: Seen[] = [];
  const errors: string[] = [];
  try {
    model.prototype.validate.call(tracked(value, at, seen));
  } catch (err) {
    const details = (
      err as {
        errors?: Array<{ instancePath: string; message?: string; params?: { allowedValues?: unknown[] } }>;
      }
    ).errors;
    if (!details) throw err;
    for (const e of details) {
      const allowed = e.params?.allowedValues ? `: ${e.params.allowedValues.join(', ')}` : '';
      errors.push(`${at}${e.instancePath || '/'} ${e.message ?? 'is invalid'}${allowed}`);
    }
  }
  const unchecked: string[] = [];
  for (const { path, keys, read } of seen) {
    if (read.size === 0) {
      if (keys.length > 0) unchecked.push(path || '/');
      continue;
    }
    for (const key of keys) if (!read.has(key)) errors.push(`${path}/${key} is not a field of the schema`);
  }
  return { errors: [...new Set(errors)].sort(), unchecked };
}

/** The schema of the object's apiVersion and kind, or why there is none. */
function modelOf(manifest: Manifest): ModelClass | string {
  const group = GROUP_VERSIONS[manifest.apiVersion];
  if (!group) return `no schema for apiVersion ${manifest.apiVersion}`;
  const model = group[manifest.kind] as ModelClass | undefined;
  // The group's modules also export the types objects are made of (DeploymentSpec): only a kind will do.
  if (!model || model.apiVersion !== manifest.apiVersion || model.kind !== manifest.kind)
    return `no kind ${manifest.kind} in ${manifest.apiVersion}`;
  return model;
}

/** The object against the schema of its kind and version (see above). */
export function validateManifest(manifest: Manifest): SchemaCheck {
  if (`${manifest.apiVersion} ${manifest.kind}` in METADATA_ONLY) {
    const objectMeta = metaV1.ObjectMeta as unknown as ModelClass;
    const template = (manifest.spec as { template?: { metadata?: unknown } } | undefined)?.template;
    const parts = [check(objectMeta, manifest.metadata, '/metadata')];
    if (template?.metadata !== undefined)
      parts.push(check(objectMeta, template.metadata, '/spec/template/metadata'));
    return {
      errors: parts.flatMap((p) => p.errors),
      unchecked: ['/spec', ...parts.flatMap((p) => p.unchecked)],
    };
  }
  const model = modelOf(manifest);
  if (typeof model === 'string') return { errors: [model], unchecked: [] };
  return check(model, manifest);
}
