import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../src/kernel/log';
import { applyDefaults } from './defaults';
import { workloadOf, type HealthRegistry } from './health';
import { mediaType, openStream, parseJson, readBody, readBytes, sendJson, type StreamRegistry } from './http';
import { decodeObject, PROTOBUF } from './protobuf';
import { isJobPod, JOBS, prepareJobForCreate } from './jobs';
import { serveLog, type LogSettings, type RecordedLogs } from './logs';
import { applyPatch, PATCH_TYPES, PatchError, type PatchType } from './patch';
import type { BadVersionMonitor } from './bad-versions';
import { servePodProxy, serveServiceProxy } from './proxy';
import { apiVersionOf, byKind, RESOURCES, resourceKey, type ResourceDef } from './resources';
import type { ResourceTarget } from './routes';
import {
  fromLabelSelector,
  matchesFields,
  matchesSelector,
  parseFieldSelector,
  parseLabelSelector,
  selectorToString,
} from './selectors';
import {
  ApiError,
  badRequest,
  conflict,
  methodNotAllowed,
  pathNotFound,
  statusBody,
  successStatus,
  unprocessable,
  unsupportedMediaType,
} from './status';
import { deterministicUid, type ObjectStore, type StoreEvent, type WriteOptions } from './store';
import { toTable, wantsTable, type IncludeObject } from './table';
import { clone, isRecord, num, rec, str, type KubeObject } from './types';
import { conversionOf } from './conversion';
import { validateObject, validateScaleReplicas } from './validate';
import { isPodTerminal } from './pods';
import { controllerOf, nameSuffix } from './workload';

type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface ApiContext {
  store: ObjectStore;
  clock: () => number;
  streams: StreamRegistry;
  logs: LogSettings;
  health: HealthRegistry;
  /** `-bad` versions that fail once they take traffic. */
  releases: BadVersionMonitor;
  /** What Job pods' containers printed: their log. */
  jobLogs: RecordedLogs;
  logger: Logger;
}

const NAMESPACES = byKind('Namespace');
const PODS = byKind('Pod');

/** Fields the server owns: a client's values for them are ignored on create. */
const SERVER_FIELDS = [
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'generation',
  'deletionTimestamp',
  'managedFields',
];

export async function handleResource(
  req: IncomingMessage,
  res: ServerResponse,
  target: ResourceTarget,
  query: URLSearchParams,
  ctx: ApiContext,
): Promise<void> {
  const method = req.method ?? 'GET';
  const { res: def, subresource } = target;
  const writeOptions: WriteOptions = { dryRun: query.getAll('dryRun').includes('All') };
  // A version other than the stored one: objects are converted out and in; writes go to the stored version.
  const conversion = conversionOf(def);
  const view: View = conversion ? conversion.out : (obj) => obj;
  const into = (given: KubeObject, stored?: KubeObject) =>
    conversion ? conversion.into(given, stored) : given;
  const storage = conversion?.storage ?? def;

  if (subresource !== undefined) {
    if (target.name === undefined || !(subresource in def.subresources)) throw pathNotFound();
    await handleSubresource(req, res, target, target.name, subresource, query, ctx, writeOptions);
    return;
  }
  const watch = target.legacyWatch || query.get('watch') === 'true' || query.get('watch') === '1';
  switch (method) {
    case 'GET':
      if (watch) return serveWatch(req, res, target, query, ctx, view);
      if (target.name === undefined) return serveList(req, res, target, query, ctx, view);
      return serveObject(req, res, ctx.store.mustGet(def, target.namespace, target.name), ctx, view);
    case 'POST': {
      if (target.name !== undefined) throw methodNotAllowed();
      const given = into(await readObject(req));
      const created = createObject(storage, target.namespace, given, ctx, writeOptions);
      return sendJson(res, 201, view(created));
    }
    case 'PUT': {
      if (target.name === undefined) throw methodNotAllowed();
      const input = await readObject(req);
      const given = into(input, ctx.store.peek(storage, target.namespace, target.name));
      const updated = replaceObject(storage, target, given, ctx, writeOptions);
      return sendJson(res, 200, view(updated));
    }
    case 'PATCH': {
      if (target.name === undefined) throw methodNotAllowed();
      const type = patchType(req);
      const patch = parseJson(await readBody(req));
      const old = ctx.store.mustGet(def, target.namespace, target.name);
      // The patch applies to the object as this version shows it.
      const patched = into(patchDocument(type, view(old), patch), old);
      if (storage.statusSubresource) patched.status = old.status;
      return sendJson(res, 200, view(writeUpdate(storage, target, patched, old, ctx, writeOptions)));
    }
    case 'DELETE':
      if (target.name === undefined) return deleteCollection(res, target, query, ctx, writeOptions, view);
      return deleteObject(res, target, target.name, ctx, writeOptions, await deleteOptions(req, query));
    default:
      throw methodNotAllowed();
  }
}

/** An object in a POST or PUT body: JSON, or protobuf for the kinds kubectl's generators send so. */
async function readObject(req: IncomingMessage): Promise<KubeObject> {
  const type = mediaType(req.headers['content-type']);
  if (type !== '' && type !== 'application/json' && type !== PROTOBUF) {
    throw unsupportedMediaType(type, ['application/json', PROTOBUF]);
  }
  const body = type === PROTOBUF ? decodeObject(await readBytes(req)) : parseJson(await readBody(req));
  if (!isRecord(body) || !isRecord(body.metadata)) throw badRequest('Object has no metadata');
  const metadata = {
    ...body.metadata,
    name: typeof body.metadata.name === 'string' ? body.metadata.name : '',
  };
  return {
    ...body,
    apiVersion: String(body.apiVersion ?? ''),
    kind: String(body.kind ?? ''),
    metadata,
  } as KubeObject;
}

function patchType(req: IncomingMessage): PatchType {
  const type = mediaType(req.headers['content-type']);
  const known = PATCH_TYPES.find((t) => t === type);
  if (!known) throw unsupportedMediaType(type, [...PATCH_TYPES]);
  return known;
}

function patchDocument(type: PatchType, old: KubeObject, patch: unknown): KubeObject {
  let result: unknown;
  try {
    result = applyPatch(type, old, patch, old.kind);
  } catch (err) {
    if (err instanceof PatchError) throw unprocessable(err.message);
    throw err;
  }
  if (!isRecord(result) || !isRecord(result.metadata))
    throw unprocessable('the patch removed the object metadata');
  return result as KubeObject;
}

// Reads

/** How a stored object reads at the version asked for (conversion.ts); tables print the stored one. */
type View = (stored: KubeObject) => KubeObject;

function serveObject(
  req: IncomingMessage,
  res: ServerResponse,
  obj: KubeObject,
  ctx: ApiContext,
  view: View,
): void {
  if (wantsTable(req.headers.accept)) {
    const table = toTable([obj], obj.kind, ctx.clock(), 'Metadata', {
      resourceVersion: obj.metadata.resourceVersion,
    });
    return sendJson(res, 200, table);
  }
  sendJson(res, 200, view(obj));
}

interface Filter {
  namespace?: string;
  name?: string;
  matches(obj: KubeObject): boolean;
}

function filterFor(target: ResourceTarget, query: URLSearchParams): Filter {
  const labels = parseLabelSelector(query.get('labelSelector') ?? undefined);
  const fields = parseFieldSelector(query.get('fieldSelector') ?? undefined, target.res.plural);
  return {
    namespace: target.namespace,
    name: target.name,
    matches: (obj) =>
      (target.namespace === undefined || obj.metadata.namespace === target.namespace) &&
      (target.name === undefined || obj.metadata.name === target.name) &&
      matchesSelector(labels, obj.metadata.labels) &&
      matchesFields(fields, obj),
  };
}

interface ContinueToken {
  after: string;
}

function decodeContinue(token: string | null): ContinueToken | undefined {
  if (!token) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (isRecord(value) && typeof value.after === 'string') return { after: value.after };
  } catch {
    // fall through
  }
  throw badRequest(
    'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
  );
}

function serveList(
  req: IncomingMessage,
  res: ServerResponse,
  target: ResourceTarget,
  query: URLSearchParams,
  ctx: ApiContext,
  view: View,
): void {
  const filter = filterFor(target, query);
  // Frozen store objects: they are only serialized.
  let items = ctx.store.scan(target.res, target.namespace).filter(filter.matches);
  const start = decodeContinue(query.get('continue'));
  const key = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  if (start) items = items.filter((o) => key(o) > start.after);
  const limit = num(Number(query.get('limit') ?? '')) ?? 0;
  const metadata: Record<string, unknown> = { resourceVersion: String(ctx.store.currentRevision) };
  if (limit > 0 && items.length > limit) {
    const last = items[limit - 1];
    metadata.remainingItemCount = items.length - limit;
    items = items.slice(0, limit);
    if (last) metadata.continue = Buffer.from(JSON.stringify({ after: key(last) })).toString('base64url');
  }
  if (wantsTable(req.headers.accept)) {
    const include = (query.get('includeObject') ?? 'Metadata') as IncludeObject;
    return sendJson(res, 200, toTable(items, target.res.kind, ctx.clock(), include, metadata));
  }
  sendJson(res, 200, {
    kind: `${target.res.kind}List`,
    apiVersion: apiVersionOf(target.res),
    metadata,
    items: items.map(view),
  });
}

/**
 * A watch: newline-delimited WatchEvents on a chunked response until the client leaves, the
 * timeout passes or the server stops. Without a resourceVersion (or "0") it starts with an
 * ADDED event per existing object; with one it replays what happened since.
 */
function serveWatch(
  req: IncomingMessage,
  res: ServerResponse,
  target: ResourceTarget,
  query: URLSearchParams,
  ctx: ApiContext,
  view: View,
): void {
  const filter = filterFor(target, query);
  const rvParam = query.get('resourceVersion') ?? '';
  const sendInitial = query.get('sendInitialEvents') === 'true';
  const since = rvParam === '' ? 0 : Number(rvParam);
  if (!Number.isInteger(since) || since < 0) throw badRequest(`invalid resource version: "${rvParam}"`);
  const key = resourceKey(target.res);

  let unsubscribe = (): void => undefined;
  let timeout: NodeJS.Timeout | undefined;
  const stream = openStream(res, ctx.streams, 'application/json', () => {
    unsubscribe();
    if (timeout) clearTimeout(timeout);
  });
  // `kubectl get -w` asks for Table rows; everyone else gets the objects.
  const table = wantsTable(req.headers.accept);
  const include = (query.get('includeObject') ?? 'Metadata') as IncludeObject;
  let columnsSent = false;
  const send = (type: WatchEventType, object: unknown): void => {
    let payload = object;
    if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
      // These three always carry a stored object.
      const obj = object as KubeObject;
      const meta = { resourceVersion: obj.metadata.resourceVersion };
      payload = table ? toTable([obj], target.res.kind, ctx.clock(), include, meta, !columnsSent) : view(obj);
      columnsSent ||= table;
    }
    stream.write(`${JSON.stringify({ type, object: payload })}\n`);
  };
  const deliver = (event: StoreEvent): void => {
    if (resourceKey(event.res) !== key) return;
    const now = filter.matches(event.object);
    const before = event.previous !== undefined && filter.matches(event.previous);
    if (event.type === 'MODIFIED') {
      if (now && before) send('MODIFIED', event.object);
      else if (now) send('ADDED', event.object);
      else if (before) send('DELETED', event.object);
    } else if (now) {
      send(event.type, event.object);
    }
  };

  if (rvParam === '' || rvParam === '0' || sendInitial) {
    for (const obj of ctx.store.scan(target.res, target.namespace).filter(filter.matches)) send('ADDED', obj);
    if (sendInitial) {
      send('BOOKMARK', {
        kind: target.res.kind,
        apiVersion: apiVersionOf(target.res),
        metadata: {
          resourceVersion: String(ctx.store.currentRevision),
          annotations: { 'k8s.io/initial-events-end': 'true' },
        },
      });
    }
  } else {
    const events = ctx.store.eventsAfter(since);
    if (!events) {
      const gone = new ApiError(
        410,
        'Expired',
        `too old resource version: ${since} (${ctx.store.currentRevision})`,
      );
      send('ERROR', statusBody(gone));
      stream.end();
      return;
    }
    for (const event of events) deliver(event);
  }
  unsubscribe = ctx.store.subscribe(deliver);
  const timeoutSeconds = Number(query.get('timeoutSeconds') ?? '');
  if (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0) {
    timeout = setTimeout(() => stream.end(), timeoutSeconds * 1000);
  }
}

// Writes

function stripServerFields(obj: KubeObject): void {
  for (const field of SERVER_FIELDS) delete obj.metadata[field];
}

function createObject(
  def: ResourceDef,
  namespace: string | undefined,
  input: KubeObject,
  ctx: ApiContext,
  options: WriteOptions,
): KubeObject {
  const obj = clone(input);
  stripServerFields(obj);
  if (def.namespaced) {
    if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    if (namespace === undefined) throw methodNotAllowed();
    obj.metadata.namespace = namespace;
  }
  if (!obj.metadata.name && typeof obj.metadata.generateName === 'string' && obj.metadata.generateName) {
    obj.metadata.name = `${obj.metadata.generateName}${nameSuffix(`${obj.metadata.generateName}/${ctx.store.currentRevision}`)}`;
  }
  obj.kind = def.kind;
  obj.apiVersion = apiVersionOf(def);
  if (def === JOBS) {
    // The job strategy selects the Job's pods by its uid, so the uid is fixed before the store's write.
    obj.metadata.uid = deterministicUid(
      `${def.kind}/${namespace ?? ''}/${obj.metadata.name}/${ctx.store.currentRevision + 1}`,
    );
    prepareJobForCreate(obj);
  }
  applyDefaults(obj);
  validateObject(def, obj);
  return ctx.store.create(def, obj, options);
}

function checkIdentity(target: ResourceTarget, obj: KubeObject): void {
  if (obj.metadata.name !== target.name) {
    throw badRequest(
      `the name of the object (${obj.metadata.name}) does not match the name on the URL (${target.name ?? ''})`,
    );
  }
  if (
    target.res.namespaced &&
    obj.metadata.namespace !== undefined &&
    obj.metadata.namespace !== target.namespace
  ) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
}

function replaceObject(
  def: ResourceDef,
  target: ResourceTarget,
  input: KubeObject,
  ctx: ApiContext,
  options: WriteOptions,
): KubeObject {
  checkIdentity(target, input);
  const old = ctx.store.mustGet(def, target.namespace, input.metadata.name);
  const obj = clone(input);
  if (def.statusSubresource) obj.status = old.status;
  if (def.kind === 'Service' && rec(obj.spec).clusterIP === undefined) {
    obj.spec = { ...rec(obj.spec), clusterIP: rec(old.spec).clusterIP, clusterIPs: rec(old.spec).clusterIPs };
  }
  return writeUpdate(def, target, obj, old, ctx, options);
}

function writeUpdate(
  def: ResourceDef,
  target: ResourceTarget,
  obj: KubeObject,
  old: KubeObject,
  ctx: ApiContext,
  options: WriteOptions,
): KubeObject {
  checkIdentity(target, obj);
  obj.kind = def.kind;
  obj.apiVersion = apiVersionOf(def);
  if (def.namespaced) obj.metadata.namespace = target.namespace;
  applyDefaults(obj);
  validateObject(def, obj, old);
  return ctx.store.update(def, obj, options);
}

type Propagation = 'Orphan' | 'Background' | 'Foreground';

interface DeleteOptions {
  propagation?: Propagation;
  /** preconditions.uid: delete only the object with this uid. */
  uid?: string;
}

/** DeleteOptions: propagationPolicy (or the older orphanDependents) from the query or the body, and a uid precondition. */
async function deleteOptions(req: IncomingMessage, query: URLSearchParams): Promise<DeleteOptions> {
  const text = await readBody(req);
  const body = text.trim() === '' ? {} : rec(parseJson(text));
  const uid = str(rec(body.preconditions).uid);
  const withUid = uid ? { uid } : {};
  const policy = query.get('propagationPolicy') ?? body.propagationPolicy;
  if (policy !== undefined && policy !== null) {
    if (policy === 'Orphan' || policy === 'Background' || policy === 'Foreground') {
      return { propagation: policy, ...withUid };
    }
    throw badRequest(
      `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${String(policy)}": supported values: "Foreground", "Background", "Orphan"`,
    );
  }
  const orphan = query.get('orphanDependents') ?? body.orphanDependents;
  if (orphan === true || orphan === 'true') return { propagation: 'Orphan', ...withUid };
  if (orphan === false || orphan === 'false') return { propagation: 'Background', ...withUid };
  return withUid;
}

function deleteObject(
  res: ServerResponse,
  target: ResourceTarget,
  name: string,
  ctx: ApiContext,
  options: WriteOptions,
  deletion: DeleteOptions = {},
): void {
  if (deletion.uid !== undefined) {
    const found = ctx.store.mustGet(target.res, target.namespace, name);
    if (found.metadata.uid !== deletion.uid) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${target.res.group === '' ? target.res.plural : `${target.res.plural}.${target.res.group}`} "${name}": Precondition failed: UID in precondition: ${deletion.uid}, UID in object meta: ${found.metadata.uid}`,
        { name, group: target.res.group, kind: target.res.plural },
      );
    }
  }
  // batch/v1 Jobs orphan their pods unless told otherwise (kubectl says Background): the
  // garbage collector then only drops the pods' reference to the Job.
  if (target.res === JOBS && (deletion.propagation ?? 'Orphan') === 'Orphan' && !options.dryRun) {
    const job = ctx.store.mustGet(JOBS, target.namespace, name);
    for (const pod of ctx.store.scan(PODS, target.namespace)) {
      if (controllerOf(pod)?.uid !== job.metadata.uid) continue;
      const orphaned = clone(pod);
      orphaned.metadata.ownerReferences = (orphaned.metadata.ownerReferences ?? []).filter(
        (r) => r.uid !== job.metadata.uid,
      );
      if (orphaned.metadata.ownerReferences.length === 0) delete orphaned.metadata.ownerReferences;
      ctx.store.update(PODS, orphaned);
    }
  }
  const gone = ctx.store.delete(target.res, target.namespace, name, options);
  if (target.res === NAMESPACES && !options.dryRun) {
    // The namespace controller empties a deleted namespace; here that happens at once.
    for (const def of RESOURCES) {
      if (!def.namespaced) continue;
      for (const obj of ctx.store.scan(def, name)) ctx.store.delete(def, name, obj.metadata.name);
    }
  }
  // Pods are deleted gracefully on a real cluster, so the API answers with the pod itself.
  if (target.res === PODS || target.res === NAMESPACES) return sendJson(res, 200, gone);
  sendJson(
    res,
    200,
    successStatus({ name, group: target.res.group, kind: target.res.plural, uid: gone.metadata.uid }),
  );
}

function deleteCollection(
  res: ServerResponse,
  target: ResourceTarget,
  query: URLSearchParams,
  ctx: ApiContext,
  options: WriteOptions,
  view: View,
): void {
  const filter = filterFor(target, query);
  const items = ctx.store
    .scan(target.res, target.namespace)
    .filter(filter.matches)
    .map((obj) => ctx.store.delete(target.res, obj.metadata.namespace, obj.metadata.name, options));
  sendJson(res, 200, {
    kind: `${target.res.kind}List`,
    apiVersion: apiVersionOf(target.res),
    metadata: { resourceVersion: String(ctx.store.currentRevision) },
    items: items.map(view),
  });
}

// Subresources

async function handleSubresource(
  req: IncomingMessage,
  res: ServerResponse,
  target: ResourceTarget,
  name: string,
  subresource: string,
  query: URLSearchParams,
  ctx: ApiContext,
  options: WriteOptions,
): Promise<void> {
  const method = req.method ?? 'GET';
  const def = target.res;
  if (subresource === 'proxy') {
    const serve = def === PODS ? servePodProxy : serveServiceProxy;
    return serve(method, res, target.namespace ?? '', name, target.subpath ?? '', ctx);
  }
  const old = ctx.store.mustGet(def, target.namespace, name);
  if (subresource === 'log') {
    if (method !== 'GET') throw methodNotAllowed();
    ctx.releases.check();
    const uid = old.metadata.uid;
    const current = () => ctx.store.peek(def, target.namespace, name);
    return serveLog(res, old, query, {
      ...ctx.logs,
      clock: ctx.clock,
      streams: ctx.streams,
      currentPod: current,
      ...(isJobPod(old)
        ? {
            recorded: {
              lines: () => ctx.jobLogs.lines(uid),
              exited: () => {
                const pod = current();
                return pod === undefined || pod.metadata.uid !== uid || isPodTerminal(pod);
              },
            },
          }
        : {}),
      unhealthySince: () => ctx.health.since(old.metadata.namespace ?? '', workloadOf(ctx.store, old).name),
      failingAt: (at) => ctx.releases.failingAt(old.metadata.uid, at),
    });
  }
  if (subresource === 'scale') return handleScale(req, res, target, old, ctx, options);
  if (subresource === 'status') {
    if (method === 'GET') return sendJson(res, 200, old);
    let next: KubeObject;
    if (method === 'PUT') {
      const input = await readObject(req);
      checkIdentity(target, input);
      next = {
        ...old,
        status: input.status,
        metadata: { ...old.metadata, resourceVersion: input.metadata.resourceVersion },
      };
    } else if (method === 'PATCH') {
      const patched = patchDocument(patchType(req), old, parseJson(await readBody(req)));
      next = {
        ...old,
        status: patched.status,
        metadata: { ...old.metadata, resourceVersion: patched.metadata.resourceVersion },
      };
    } else {
      throw methodNotAllowed();
    }
    return sendJson(res, 200, ctx.store.update(def, next, options));
  }
  throw pathNotFound();
}

/** autoscaling/v1 Scale, the view kubectl scale and HPAs use. */
export function scaleOf(obj: KubeObject): KubeObject {
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: num(rec(obj.spec).replicas) ?? 1 },
    status: {
      replicas: num(rec(obj.status).replicas) ?? 0,
      selector: selectorToString(fromLabelSelector(rec(obj.spec).selector) ?? []),
    },
  };
}

async function handleScale(
  req: IncomingMessage,
  res: ServerResponse,
  target: ResourceTarget,
  old: KubeObject,
  ctx: ApiContext,
  options: WriteOptions,
): Promise<void> {
  const method = req.method ?? 'GET';
  if (method === 'GET') return sendJson(res, 200, scaleOf(old));
  let scale: KubeObject;
  if (method === 'PUT') {
    scale = await readObject(req);
    checkIdentity(target, scale);
  } else if (method === 'PATCH') {
    scale = patchDocument(patchType(req), scaleOf(old), parseJson(await readBody(req)));
  } else {
    throw methodNotAllowed();
  }
  const requested = scale.metadata.resourceVersion;
  if (requested && requested !== old.metadata.resourceVersion) throw conflict(target.res, old.metadata.name);
  const replicas = rec(scale.spec).replicas;
  validateScaleReplicas(old.metadata.name, replicas);
  const next = clone(old);
  next.spec = { ...rec(next.spec), replicas };
  const saved = ctx.store.update(target.res, next, options);
  sendJson(res, 200, scaleOf(saved));
}
