import { clone, isRecord, type JsonRecord } from './types';

/**
 * The three patch formats of the Kubernetes API. Errors are PatchError; the HTTP layer turns
 * them into 422 like the API server does for a patch it cannot apply.
 */

export class PatchError extends Error {}

// RFC 6902 JSON Patch

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(token: string, length: number, forInsert: boolean): number {
  if (forInsert && token === '-') return length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchError(`invalid array index "${token}"`);
  const index = Number(token);
  if (index > length || (!forInsert && index === length))
    throw new PatchError(`array index ${index} out of bounds`);
  return index;
}

function getAt(doc: unknown, tokens: string[], pointer: string): unknown {
  let current = doc;
  for (const token of tokens) {
    if (Array.isArray(current)) {
      current = current[arrayIndex(token, current.length, false)];
    } else if (isRecord(current) && Object.prototype.hasOwnProperty.call(current, token)) {
      current = current[token];
    } else {
      throw new PatchError(`doc is missing path: "${pointer}"`);
    }
  }
  return current;
}

function parentOf(doc: unknown, tokens: string[], pointer: string): { parent: unknown; last: string } {
  if (tokens.length === 0) throw new PatchError(`cannot address the document root with "${pointer}"`);
  return { parent: getAt(doc, tokens.slice(0, -1), pointer), last: tokens[tokens.length - 1] ?? '' };
}

function addAt(doc: unknown, pointer: string, value: unknown): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true), 0, value);
  else if (isRecord(parent)) parent[last] = value;
  else throw new PatchError(`doc is missing path: "${pointer}"`);
  return doc;
}

function removeAt(doc: unknown, pointer: string): { doc: unknown; removed: unknown } {
  const tokens = parsePointer(pointer);
  const { parent, last } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const [removed] = parent.splice(arrayIndex(last, parent.length, false), 1);
    return { doc, removed };
  }
  if (isRecord(parent) && Object.prototype.hasOwnProperty.call(parent, last)) {
    const removed = parent[last];
    delete parent[last];
    return { doc, removed };
  }
  throw new PatchError(`unable to remove nonexistent key: ${last}: missing value`);
}

export function applyJsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new PatchError('a JSON patch must be an array of operations');
  let doc = clone(target);
  for (const raw of operations) {
    if (!isRecord(raw)) throw new PatchError('a JSON patch operation must be an object');
    const op = raw.op;
    const path = raw.path;
    if (typeof path !== 'string') throw new PatchError(`operation "${String(op)}" has no path`);
    switch (op) {
      case 'add':
        if (!('value' in raw)) throw new PatchError('add operation has no value');
        doc = addAt(doc, path, clone(raw.value));
        break;
      case 'remove':
        doc = removeAt(doc, path).doc;
        break;
      case 'replace': {
        if (!('value' in raw)) throw new PatchError('replace operation has no value');
        const tokens = parsePointer(path);
        if (tokens.length === 0) {
          doc = clone(raw.value);
          break;
        }
        getAt(doc, tokens, path);
        doc = removeAt(doc, path).doc;
        doc = addAt(doc, path, clone(raw.value));
        break;
      }
      case 'move':
      case 'copy': {
        const from = raw.from;
        if (typeof from !== 'string') throw new PatchError(`${op} operation has no from`);
        const value =
          op === 'move' ? removeAt(doc, from).removed : clone(getAt(doc, parsePointer(from), from));
        doc = addAt(doc, path, value);
        break;
      }
      case 'test': {
        const actual = getAt(doc, parsePointer(path), path);
        if (!deepEqual(actual, raw.value)) {
          throw new PatchError(`testing value ${path} failed: test failed`);
        }
        break;
      }
      default:
        throw new PatchError(`unexpected kind: ${String(op)}`);
    }
  }
  return doc;
}

/** Key order does not matter for a JSON patch test, but every value (null included) must match. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]))
    );
  }
  if (isRecord(a) || isRecord(b)) {
    if (!isRecord(a) || !isRecord(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return a === b;
}

// RFC 7386 JSON Merge Patch

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return clone(patch);
  const out: JsonRecord = isRecord(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value);
  }
  return out;
}

// Strategic merge patch: merge patch, plus lists merged by a key and $patch directives.

/**
 * Merge keys of the lists this simulator's clients patch, from the Kubernetes API's
 * `patchMergeKey` tags. `ports` means containerPort inside a container and port in a Service.
 */
function mergeKeyFor(path: string[], kind: string): string | undefined {
  const field = path[path.length - 1];
  const parent = path[path.length - 2];
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
      return 'name';
    case 'volumeMounts':
      return 'mountPath';
    case 'volumeDevices':
      return 'devicePath';
    case 'ports':
      return kind === 'Service' && path.length === 2 && parent === 'spec' ? 'port' : 'containerPort';
    case 'conditions':
      return 'type';
    case 'ownerReferences':
      return 'uid';
    case 'hostAliases':
      return 'ip';
    case 'topologySpreadConstraints':
      return 'topologyKey';
    default:
      return undefined;
  }
}

const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE = '$deleteFromPrimitiveList/';

export function applyStrategicMergePatch(target: unknown, patch: unknown, kind: string): unknown {
  if (!isRecord(patch)) throw new PatchError('a strategic merge patch must be a JSON object');
  return mergeMap(isRecord(target) ? target : {}, patch, [], kind);
}

function mergeMap(original: JsonRecord, patch: JsonRecord, path: string[], kind: string): JsonRecord {
  const directive = patch.$patch;
  if (directive === 'replace') {
    const replaced = stripDirectives(patch);
    return isRecord(replaced) ? replaced : {};
  }
  if (directive !== undefined && directive !== 'merge') {
    throw new PatchError(`unknown patch type: ${String(directive)} in map`);
  }
  const out: JsonRecord = clone(original);
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith(SET_ELEMENT_ORDER)) continue;
    if (key.startsWith(DELETE_FROM_PRIMITIVE)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE.length);
      const remove = Array.isArray(value) ? value : [];
      if (Array.isArray(out[field])) out[field] = out[field].filter((v) => !remove.includes(v));
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    const childPath = [...path, key];
    if (isRecord(value)) {
      if (value.$patch === 'delete') {
        delete out[key];
        continue;
      }
      out[key] = mergeMap(isRecord(out[key]) ? out[key] : {}, value, childPath, kind);
    } else if (Array.isArray(value)) {
      out[key] = mergeList(Array.isArray(out[key]) ? out[key] : [], value, childPath, kind);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function mergeList(original: unknown[], patch: unknown[], path: string[], kind: string): unknown[] {
  const key = mergeKeyFor(path, kind);
  const replaceAll = patch.some((item) => isRecord(item) && item.$patch === 'replace');
  const items = patch.filter((item) => !(isRecord(item) && item.$patch === 'replace'));
  if (replaceAll || key === undefined) return items.map(stripDirectives);
  const out = clone(original);
  for (const item of items) {
    if (!isRecord(item))
      throw new PatchError(`a list merged by "${key}" must hold objects, at ${path.join('.')}`);
    const id = item[key];
    if (id === undefined)
      throw new PatchError(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    const index = out.findIndex((o) => isRecord(o) && o[key] === id);
    if (item.$patch === 'delete') {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    const existing = index >= 0 ? out[index] : undefined;
    const merged = mergeMap(isRecord(existing) ? existing : {}, item, path, kind);
    if (index >= 0) out[index] = merged;
    else out.push(merged);
  }
  return out;
}

function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isRecord(value)) return value;
  const out: JsonRecord = {};
  for (const [key, v] of Object.entries(value)) {
    if (key.startsWith('$')) continue;
    out[key] = stripDirectives(v);
  }
  return out;
}

export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
] as const;

export type PatchType = (typeof PATCH_TYPES)[number];

export function applyPatch(type: PatchType, target: unknown, patch: unknown, kind: string): unknown {
  switch (type) {
    case 'application/json-patch+json':
      return applyJsonPatch(target, patch);
    case 'application/merge-patch+json':
      return applyMergePatch(target, patch);
    case 'application/strategic-merge-patch+json':
      return applyStrategicMergePatch(target, patch, kind);
  }
}
