import { GRAPH_DEFAULTS, type Policy } from '../src/config/policy';
import { SANDBOX_ESCALATION_POLICY } from './pagerduty';

/** The people of the simulated workspace: one who asks for changes and two who may approve them. */
export interface SandboxUser {
  id: string;
  name: string;
  handle: string;
  title: string;
  /**
   * Their address in Slack (users.lookupByEmail). The approvers' match PagerDuty's on-call
   * people (sandbox/pagerduty.ts), as the same people's would in a real workspace.
   */
  email: string;
  /** Avatar colour in the workspace page. */
  color: string;
}

export const SANDBOX_USERS: readonly SandboxUser[] = [
  {
    id: 'U0ENGINEER',
    name: 'Engineer Erin',
    handle: 'erin',
    title: 'SRE, asks for changes',
    email: 'erin.novak@azora.example',
    color: '#2b7a78',
  },
  {
    id: 'U0APPROVER1',
    name: 'Approver Amara',
    handle: 'amara',
    title: 'SRE lead, approves production',
    email: 'amara.okafor@azora.example',
    color: '#8e44ad',
  },
  {
    id: 'U0APPROVER2',
    name: 'Approver Jonas',
    handle: 'jonas',
    title: 'SRE, approves production',
    email: 'jonas.weber@azora.example',
    color: '#c0392b',
  },
];

export const SANDBOX_APPROVERS = ['U0APPROVER1', 'U0APPROVER2'] as const;
export const SANDBOX_ENGINEER = 'U0ENGINEER';

/** Where the simulated cluster's images come from (the guide's registry), one repository per service. */
export const SANDBOX_REGISTRY = 'registry.azora.world/azora';

/**
 * Everything in the sandbox happens within minutes: its alert graphs look back 5 minutes in
 * 1 s steps (a bad version fails 10 s after it takes traffic), and Graph draws again after
 * 10 s.
 */
export const SANDBOX_GRAPHS = { window: 5 * 60_000, step: 1_000, redrawGap: 10_000 } as const;

/** What a deploy checks after the health path: the simulated app answers GET /version with 200. */
export const SANDBOX_SMOKE = [{ path: '/version', status: 200 }] as const;

/**
 * The policy the sandbox runs with: the operator's, with the sandbox's approvers added to
 * every environment that needs approval, and Erin allowed to view, request and respond
 * there, so the approval flow works out of the box (she still cannot approve, nor use
 * production from a channel the policy does not list). Every app service deploys from the
 * simulated registry unless the policy names a repository, and its deploys run smoke
 * checks the simulated app answers unless the policy lists its own. Every service's incidents
 * invite the simulated PagerDuty's on-call, unless the policy names an escalation policy.
 * Graphs are drawn over the sandbox's minutes (SANDBOX_GRAPHS) unless the policy changed
 * their window or step.
 */
export function sandboxPolicy(policy: Policy): Policy {
  const copy = structuredClone(policy);
  for (const [name, svc] of Object.entries(copy.services)) {
    if (!svc.deployment) continue;
    svc.image ??= `${SANDBOX_REGISTRY}/${name}`;
    if (svc.smoke.length === 0) svc.smoke = SANDBOX_SMOKE.map((check) => ({ ...check }));
  }
  // An incident invites whoever the simulated PagerDuty has on call (Amara, level 1) for its
  // services, unless the policy names escalation policies of its own.
  for (const name of Object.keys(copy.services)) {
    copy.incidents.escalationPolicies[name] ??= SANDBOX_ESCALATION_POLICY;
  }
  if (copy.graphs.window === GRAPH_DEFAULTS.window && copy.graphs.step === GRAPH_DEFAULTS.step) {
    copy.graphs = { ...copy.graphs, ...SANDBOX_GRAPHS };
  }
  for (const env of Object.values(copy.environments)) {
    if (!env || env.approval !== 'required') continue;
    for (const id of SANDBOX_APPROVERS) if (!env.approvers.includes(id)) env.approvers.push(id);
    for (const field of ['view', 'request', 'respond'] as const) {
      const listed = env.access[field] ?? [];
      if (listed !== 'everyone' && !listed.includes(SANDBOX_ENGINEER))
        env.access[field] = [...listed, SANDBOX_ENGINEER];
    }
  }
  return copy;
}

/** User groups the policy names are answered with the sandbox's approvers as their members. */
export function sandboxUserGroups(policy: Policy): Record<string, string[]> {
  const groups: Record<string, string[]> = {};
  for (const env of Object.values(policy.environments)) {
    const access = env ? [env.access.view, env.access.request, env.access.respond] : [];
    const named = [...(env?.approvers ?? []), ...access.flatMap((a) => (Array.isArray(a) ? a : []))];
    for (const id of named) if (id.startsWith('S')) groups[id] = [...SANDBOX_APPROVERS];
  }
  return groups;
}
