import { badRequest } from './status';
import { arr, isRecord, rec, str, stringMap, type KubeObject } from './types';

/** Label and field selectors with the grammar of apimachinery's labels.Parse / fields.Parse. */

export type Requirement =
  | { key: string; op: 'exists' | 'notexists' }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'gt' | 'lt'; value: number };

export type Selector = Requirement[];

const KEY = String.raw`[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?`;
const VALUE = String.raw`(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)?`;
const EXISTS = new RegExp(`^(${KEY})$`);
const NOT_EXISTS = new RegExp(`^!\\s*(${KEY})$`);
const EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`);
const NUMERIC = new RegExp(`^(${KEY})\\s*([<>])\\s*(-?\\d+)$`);
const VALUE_ONLY = new RegExp(`^${VALUE}$`);

/** Splits on commas that are not inside the parentheses of a set requirement. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

export function parseLabelSelector(text: string | undefined): Selector {
  if (text === undefined || text.trim() === '') return [];
  return splitTopLevel(text).map((raw) => {
    const part = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = NOT_EXISTS.exec(part))) return { key: m[1] ?? '', op: 'notexists' };
    if ((m = SET.exec(part))) {
      const values = (m[3] ?? '').split(',').map((v) => v.trim());
      if (values.some((v) => !VALUE_ONLY.test(v))) {
        throw badRequest(`unable to parse requirement: values in "${part}" are not valid label values`);
      }
      return { key: m[1] ?? '', op: m[2] === 'in' ? 'in' : 'notin', values };
    }
    if ((m = EQUALITY.exec(part))) {
      return { key: m[1] ?? '', op: m[2] === '!=' ? 'notin' : 'in', values: [m[3] ?? ''] };
    }
    if ((m = NUMERIC.exec(part)))
      return { key: m[1] ?? '', op: m[2] === '>' ? 'gt' : 'lt', value: Number(m[3]) };
    if ((m = EXISTS.exec(part))) return { key: m[1] ?? '', op: 'exists' };
    throw badRequest(`unable to parse requirement: found '${part}', expected a label selector requirement`);
  });
}

export function matchesSelector(selector: Selector, labels: Record<string, string> | undefined): boolean {
  const have = labels ?? {};
  return selector.every((req) => {
    const value = Object.prototype.hasOwnProperty.call(have, req.key) ? have[req.key] : undefined;
    switch (req.op) {
      case 'exists':
        return value !== undefined;
      case 'notexists':
        return value === undefined;
      case 'in':
        return value !== undefined && req.values.includes(value);
      case 'notin':
        return value === undefined || !req.values.includes(value);
      case 'gt':
      case 'lt': {
        const n = value === undefined ? NaN : Number(value);
        return Number.isFinite(n) && (req.op === 'gt' ? n > req.value : n < req.value);
      }
    }
  });
}

/**
 * A metav1.LabelSelector ({matchLabels, matchExpressions}). Workload selectors must select
 * something, so an empty or missing selector yields undefined rather than "everything".
 */
export function fromLabelSelector(value: unknown): Selector | undefined {
  if (!isRecord(value)) return undefined;
  const out: Selector = Object.entries(stringMap(value.matchLabels)).map(([key, v]) => ({
    key,
    op: 'in' as const,
    values: [v],
  }));
  for (const expr of arr(value.matchExpressions)) {
    const e = rec(expr);
    const key = str(e.key) ?? '';
    const values = arr(e.values).filter((v): v is string => typeof v === 'string');
    switch (e.operator) {
      case 'In':
        out.push({ key, op: 'in', values });
        break;
      case 'NotIn':
        out.push({ key, op: 'notin', values });
        break;
      case 'Exists':
        out.push({ key, op: 'exists' });
        break;
      case 'DoesNotExist':
        out.push({ key, op: 'notexists' });
        break;
    }
  }
  return out.length > 0 ? out : undefined;
}

/** A Service selector is a plain map; empty means "selects nothing" (no managed endpoints). */
export function fromMap(map: Record<string, string>): Selector {
  return Object.entries(map).map(([key, value]) => ({ key, op: 'in' as const, values: [value] }));
}

export function selectorToString(selector: Selector): string {
  return selector
    .map((r) => {
      switch (r.op) {
        case 'exists':
          return r.key;
        case 'notexists':
          return `!${r.key}`;
        case 'in':
          return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
        case 'notin':
          return r.values.length === 1
            ? `${r.key}!=${r.values[0]}`
            : `${r.key} notin (${r.values.join(',')})`;
        case 'gt':
          return `${r.key}>${r.value}`;
        case 'lt':
          return `${r.key}<${r.value}`;
      }
    })
    .join(',');
}

// Field selectors: the API server only supports a fixed set of fields per resource.

export interface FieldRequirement {
  field: string;
  value: string;
  negate: boolean;
}

const COMMON_FIELDS = ['metadata.name', 'metadata.namespace'];
const EXTRA_FIELDS: Record<string, string[]> = {
  pods: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  events: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  replicasets: ['status.replicas'],
  namespaces: ['status.phase'],
};

export function parseFieldSelector(text: string | undefined, plural: string): FieldRequirement[] {
  if (text === undefined || text.trim() === '') return [];
  const allowed = [...COMMON_FIELDS, ...(EXTRA_FIELDS[plural] ?? [])];
  return text.split(',').map((raw) => {
    const m = /^\s*([A-Za-z0-9.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(raw);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${raw}'`);
    const field = m[1] ?? '';
    if (!allowed.includes(field)) {
      throw badRequest(`"${field}" is not a known field selector: only "${allowed.join('", "')}"`);
    }
    return { field, value: m[3] ?? '', negate: m[2] === '!=' };
  });
}

function fieldValue(obj: KubeObject, field: string): string {
  let current: unknown = obj;
  for (const part of field.split('.')) current = rec(current)[part];
  if (typeof current === 'string') return current;
  if (typeof current === 'number' || typeof current === 'boolean') return String(current);
  return '';
}

export function matchesFields(reqs: FieldRequirement[], obj: KubeObject): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) !== r.negate);
}
