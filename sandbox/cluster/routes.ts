import type { RequestAttributes } from './rbac';
import { byKind, findResource, type ResourceDef } from './resources';

/** URL → what is being asked for, following the API server's path layout. */

export type Route =
  | { type: 'root' }
  | { type: 'version' }
  | { type: 'health' }
  | { type: 'openapi'; version: 'v2' | 'v3' }
  | { type: 'api' }
  | { type: 'apis' }
  | { type: 'group'; group: string }
  | { type: 'resourceList'; group: string; version: string }
  | { type: 'resource'; target: ResourceTarget }
  | { type: 'notFound' };

export interface ResourceTarget {
  res: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** For services/{name}/proxy/{path}: the path after proxy/. */
  subpath?: string;
  /** The deprecated /watch/ path prefix. */
  legacyWatch: boolean;
}

const NAMESPACES = byKind('Namespace');

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function parseRoute(pathname: string): Route {
  const parts = pathname
    .split('/')
    .filter((s) => s.length > 0)
    .map(decode);
  const [head] = parts;
  if (head === undefined) return { type: 'root' };
  if (head === 'version' && parts.length === 1) return { type: 'version' };
  if ((head === 'healthz' || head === 'livez' || head === 'readyz') && parts.length <= 2)
    return { type: 'health' };
  if (head === 'openapi' && (parts[1] === 'v2' || parts[1] === 'v3') && parts.length === 2)
    return { type: 'openapi', version: parts[1] };

  let group: string;
  let version: string | undefined;
  let rest: string[];
  if (head === 'api') {
    if (parts.length === 1) return { type: 'api' };
    group = '';
    version = parts[1];
    rest = parts.slice(2);
  } else if (head === 'apis') {
    if (parts.length === 1) return { type: 'apis' };
    group = parts[1] ?? '';
    if (parts.length === 2) return { type: 'group', group };
    version = parts[2];
    rest = parts.slice(3);
  } else {
    return { type: 'notFound' };
  }
  if (version === undefined) return { type: 'notFound' };
  if (rest.length === 0) return { type: 'resourceList', group, version };

  let legacyWatch = false;
  if (rest[0] === 'watch') {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  const tail = (from: number): Pick<ResourceTarget, 'name' | 'subresource' | 'subpath'> => ({
    ...(rest[from] !== undefined ? { name: rest[from] } : {}),
    ...(rest[from + 1] !== undefined ? { subresource: rest[from + 1] } : {}),
    ...(rest.length > from + 2 ? { subpath: rest.slice(from + 2).join('/') } : {}),
  });

  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const namespace = rest[1] ?? '';
    const plural = rest[2] ?? '';
    const res = findResource(group, version, plural);
    if (res?.namespaced) return { type: 'resource', target: { res, namespace, ...tail(3), legacyWatch } };
    if (group === '' && (plural === 'status' || plural === 'finalize') && rest.length === 3) {
      return {
        type: 'resource',
        target: { res: NAMESPACES, name: namespace, subresource: plural, legacyWatch },
      };
    }
    return { type: 'notFound' };
  }
  const res = findResource(group, version, rest[0] ?? '');
  if (!res) return { type: 'notFound' };
  // A namespaced resource without a namespace is only a list/watch across all namespaces.
  if (res.namespaced && rest.length > 1) return { type: 'notFound' };
  return { type: 'resource', target: { res, ...tail(1), legacyWatch } };
}

const PROXY_VERBS: Record<string, string> = {
  GET: 'get',
  HEAD: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** The RBAC attributes of a resource request, as the API server's request-info resolver builds them. */
export function requestAttributes(
  method: string,
  target: ResourceTarget,
  query: URLSearchParams,
): RequestAttributes {
  const watch = target.legacyWatch || query.get('watch') === 'true' || query.get('watch') === '1';
  let verb: string;
  if (target.subresource === 'proxy') verb = PROXY_VERBS[method] ?? method.toLowerCase();
  else if (method === 'GET' || method === 'HEAD')
    verb = target.name === undefined ? (watch ? 'watch' : 'list') : watch ? 'watch' : 'get';
  else if (method === 'POST') verb = 'create';
  else if (method === 'PUT') verb = 'update';
  else if (method === 'PATCH') verb = 'patch';
  else if (method === 'DELETE') verb = target.name === undefined ? 'deletecollection' : 'delete';
  else verb = method.toLowerCase();
  return {
    verb,
    apiGroup: target.res.group,
    resource: target.res.plural,
    ...(target.subresource !== undefined ? { subresource: target.subresource } : {}),
    ...(target.name !== undefined ? { name: proxyName(target) } : {}),
    ...(target.namespace !== undefined ? { namespace: target.namespace } : {}),
    // Like the API server's request info: a namespace is addressed "in" itself, so a rule
    // scoped to namespace X may read namespace X.
    ...(target.res.plural === 'namespaces' && target.name !== undefined ? { namespace: target.name } : {}),
  };
}

/** services/{scheme:name:port}/proxy: RBAC and lookups use the bare name. */
function proxyName(target: ResourceTarget): string {
  const name = target.name ?? '';
  if (target.subresource !== 'proxy') return name;
  return parseProxyName(name).name;
}

export function parseProxyName(raw: string): { name: string; port?: string; scheme?: string } {
  const parts = raw.split(':');
  if (parts.length === 3) return { scheme: parts[0], name: parts[1] ?? '', port: parts[2] };
  if (parts.length === 2) return { name: parts[0] ?? '', port: parts[1] };
  return { name: raw };
}
