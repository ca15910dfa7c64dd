import { createHash } from 'node:crypto';
import { apiVersionOf, byKind, resourceKey, type ResourceDef } from './resources';
import { ApiError, alreadyExists, conflict, notFound } from './status';
import { clone, deepFreeze, isoSeconds, semanticEqual, stripNulls, type KubeObject } from './types';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  res: ResourceDef;
  object: KubeObject;
  /** The object before a MODIFIED event, so selector-filtered watches can turn it into ADDED/DELETED. */
  previous?: KubeObject;
  revision: number;
}

export interface WriteOptions {
  /** Validate and compute the result without storing it (`?dryRun=All`). */
  dryRun?: boolean;
}

const NAMESPACES = byKind('Namespace');

/**
 * The single source of truth: objects by resource and namespace/name, one global
 * resourceVersion counter like etcd's revision, and a bounded event history so a watch can
 * resume from a resourceVersion it saw in a list.
 */
export class ObjectStore {
  private revision = 1000;
  private readonly data = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<(event: StoreEvent) => void>();

  constructor(
    private readonly clock: () => number,
    private readonly historyLimit = 5000,
  ) {}

  get currentRevision(): number {
    return this.revision;
  }

  /** A copy the caller may change. */
  get(res: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.peek(res, namespace, name);
    return found ? clone(found) : undefined;
  }

  /** The stored (frozen) object: for reading only, without the cost of a copy. */
  peek(res: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.bucket(res).get(objectKey(res, res.namespaced ? namespace : undefined, name));
  }

  mustGet(res: ResourceDef, namespace: string | undefined, name: string): KubeObject {
    const found = this.get(res, namespace, name);
    if (!found) throw notFound(res, name);
    return found;
  }

  /** Copies, sorted by namespace and name (the order of list pagination). */
  list(res: ResourceDef, namespace?: string): KubeObject[] {
    return this.scan(res, namespace).map((obj) => clone(obj));
  }

  /** The stored (frozen) objects, sorted like list(): for reading only. */
  scan(res: ResourceDef, namespace?: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const obj of this.bucket(res).values()) {
      if (namespace === undefined || obj.metadata.namespace === namespace) out.push(obj);
    }
    return out.sort((a, b) => listKey(a).localeCompare(listKey(b)));
  }

  create(res: ResourceDef, input: KubeObject, options: WriteOptions = {}): KubeObject {
    const namespace = res.namespaced ? input.metadata.namespace : undefined;
    const name = input.metadata.name;
    if (
      res.namespaced &&
      namespace !== undefined &&
      !this.bucket(NAMESPACES).has(objectKey(NAMESPACES, undefined, namespace))
    ) {
      throw notFound(NAMESPACES, namespace);
    }
    const key = objectKey(res, namespace, name);
    if (this.bucket(res).has(key)) throw alreadyExists(res, name);
    const revision = options.dryRun ? this.revision : this.revision + 1;
    const obj = normalize(res, input);
    obj.metadata = {
      ...obj.metadata,
      ...(namespace !== undefined ? { namespace } : {}),
      uid: obj.metadata.uid || deterministicUid(`${res.kind}/${namespace ?? ''}/${name}/${revision}`),
      resourceVersion: String(revision),
      creationTimestamp: obj.metadata.creationTimestamp || isoSeconds(this.clock()),
      ...(res.generation ? { generation: 1 } : {}),
    };
    if (options.dryRun) return obj;
    this.revision = revision;
    const stored = deepFreeze(clone(obj));
    this.bucket(res).set(key, stored);
    this.emit({ type: 'ADDED', res, object: stored, revision });
    return obj;
  }

  /**
   * Replaces an object. A non-empty metadata.resourceVersion in the input is an optimistic
   * lock: it must equal the stored one, as with PUT on a real API server.
   */
  update(res: ResourceDef, input: KubeObject, options: WriteOptions = {}): KubeObject {
    const namespace = res.namespaced ? input.metadata.namespace : undefined;
    const name = input.metadata.name;
    const key = objectKey(res, namespace, name);
    const old = this.bucket(res).get(key);
    if (!old) throw notFound(res, name);
    if (input.metadata.resourceVersion && input.metadata.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(res, name);
    }
    const obj = normalize(res, input);
    if (!res.generation) delete obj.metadata.generation;
    const specChanged = !semanticEqual(obj.spec, old.spec);
    const generation = res.generation ? (old.metadata.generation ?? 1) : undefined;
    obj.metadata = {
      ...obj.metadata,
      ...(namespace !== undefined ? { namespace } : {}),
      uid: old.metadata.uid,
      creationTimestamp: old.metadata.creationTimestamp,
      resourceVersion: old.metadata.resourceVersion,
      ...(generation !== undefined ? { generation: specChanged ? generation + 1 : generation } : {}),
    };
    // An update that changes nothing is not a write: no new resourceVersion, no watch event.
    if (semanticEqual(obj, old) || options.dryRun) return obj;
    this.revision += 1;
    obj.metadata.resourceVersion = String(this.revision);
    const stored = deepFreeze(clone(obj));
    this.bucket(res).set(key, stored);
    this.emit({ type: 'MODIFIED', res, object: stored, previous: old, revision: this.revision });
    return obj;
  }

  delete(
    res: ResourceDef,
    namespace: string | undefined,
    name: string,
    options: WriteOptions = {},
  ): KubeObject {
    const key = objectKey(res, res.namespaced ? namespace : undefined, name);
    const old = this.bucket(res).get(key);
    if (!old) throw notFound(res, name);
    if (options.dryRun) return clone(old);
    this.bucket(res).delete(key);
    this.revision += 1;
    // Like etcd, the deletion gets its own revision, which the DELETED event's object carries.
    const gone = clone(old);
    gone.metadata.resourceVersion = String(this.revision);
    this.emit({ type: 'DELETED', res, object: deepFreeze(clone(gone)), revision: this.revision });
    return gone;
  }

  /** Listeners get frozen objects and must not change them. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Events (with frozen objects) after a revision, or undefined when that revision is older than the kept history. */
  eventsAfter(revision: number): StoreEvent[] | undefined {
    if (revision >= this.revision) return [];
    const first = this.history[0];
    if (!first || first.revision > revision + 1) return undefined;
    return this.history.filter((e) => e.revision > revision);
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit)
      this.history.splice(0, this.history.length - this.historyLimit);
    for (const listener of [...this.listeners]) listener(event);
  }

  private bucket(res: ResourceDef): Map<string, KubeObject> {
    const key = resourceKey(res);
    let bucket = this.data.get(key);
    if (!bucket) {
      bucket = new Map();
      this.data.set(key, bucket);
    }
    return bucket;
  }
}

function objectKey(res: ResourceDef, namespace: string | undefined, name: string): string {
  return res.namespaced ? `${namespace ?? ''}/${name}` : name;
}

function listKey(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

function normalize(res: ResourceDef, input: KubeObject): KubeObject {
  const stripped = stripNulls(clone(input));
  if (!isKubeObjectShape(stripped)) throw new ApiError(400, 'BadRequest', 'object has no metadata');
  return { ...stripped, apiVersion: apiVersionOf(res), kind: res.kind };
}

function isKubeObjectShape(value: unknown): value is KubeObject {
  return typeof value === 'object' && value !== null && 'metadata' in value;
}

/** UUID-shaped and stable across runs, so two runs of the same test see the same uids. */
export function deterministicUid(seed: string): string {
  const h = createHash('sha1').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
