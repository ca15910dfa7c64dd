import { ApiError } from './status';

/**
 * A small RBAC: identities by bearer token, each with Role-like rules. The matching follows
 * Kubernetes' rbac/v1 semantics (wildcards, `*\/subresource`, resourceNames never match a
 * request without a name) plus a `namespaces` list instead of separate RoleBindings.
 */

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface PolicyRule {
  /** '' is the core group; '*' matches any. */
  apiGroups: string[];
  /** 'deployments', 'deployments/scale', 'pods/log', 'services/proxy', '*' or '*\/scale'. */
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
  /** Where the rule applies; absent means every namespace and cluster-scoped requests too. */
  namespaces?: string[];
}

export interface Identity {
  name: string;
  /** Absent: an administrator, allowed everything. */
  rules?: PolicyRule[];
}

export interface RequestAttributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource?: string;
  name?: string;
  /** Absent for cluster-scoped requests and lists across all namespaces. */
  namespace?: string;
}

function includesOrWildcard(list: readonly string[], value: string): boolean {
  return list.includes('*') || list.includes(value);
}

function resourceMatches(rule: PolicyRule, attrs: RequestAttributes): boolean {
  const combined = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  return rule.resources.some(
    (r) => r === '*' || r === combined || (attrs.subresource !== undefined && r === `*/${attrs.subresource}`),
  );
}

export function ruleAllows(rule: PolicyRule, attrs: RequestAttributes): boolean {
  if (!includesOrWildcard(rule.verbs, attrs.verb)) return false;
  if (!includesOrWildcard(rule.apiGroups, attrs.apiGroup)) return false;
  if (!resourceMatches(rule, attrs)) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0) {
    if (!attrs.name || !rule.resourceNames.includes(attrs.name)) return false;
  }
  if (rule.namespaces !== undefined) {
    if (attrs.namespace === undefined || !includesOrWildcard(rule.namespaces, attrs.namespace)) return false;
  }
  return true;
}

/** Whether an identity may make a request; identities without rules are administrators. */
export function isAllowed(identity: Identity, attrs: RequestAttributes): boolean {
  return identity.rules === undefined || identity.rules.some((rule) => ruleAllows(rule, attrs));
}

export function forbiddenMessage(user: string, attrs: RequestAttributes): string {
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const what = `User "${user}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.apiGroup}"`;
  const where =
    attrs.namespace !== undefined ? `in the namespace "${attrs.namespace}"` : 'at the cluster scope';
  const qualified = attrs.apiGroup === '' ? attrs.resource : `${attrs.resource}.${attrs.apiGroup}`;
  const subject = attrs.name ? `${qualified} "${attrs.name}"` : qualified;
  return `${subject} is forbidden: ${what} ${where}`;
}

export function forbidden(user: string, attrs: RequestAttributes): ApiError {
  return new ApiError(403, 'Forbidden', forbiddenMessage(user, attrs), {
    ...(attrs.name ? { name: attrs.name } : {}),
    group: attrs.apiGroup,
    kind: attrs.resource,
  });
}

export function authorize(identity: Identity, attrs: RequestAttributes): void {
  if (!isAllowed(identity, attrs)) throw forbidden(identity.name, attrs);
}
