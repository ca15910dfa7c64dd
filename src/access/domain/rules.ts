import type { Policy } from '../../config/policy';
import type { EnvironmentName } from '../../commands/domain/types';
import { environmentOf } from '../../kernel/domain/topology';

/**
 * What a person may do in an environment. `view`: status and logs; `request`: ask for
 * changes (which implies view); `respond`: Silence, Expire and Acknowledge on alerts;
 * `approve`: decide on others' requests. The approvers may always do all four.
 */
export type Capability = 'view' | 'request' | 'respond' | 'approve';

/** Who holds a capability: everyone, or these user and user-group ids. */
export interface Audience {
  everyone: boolean;
  ids: string[];
}

export type AccessVerdict = { ok: true } | { ok: false; reason: string; who: Audience };

const OK: AccessVerdict = { ok: true };

/** Where no approval is required the environment is open; where it is, strict. */
const isStrict = (policy: Policy, env: EnvironmentName) => environmentOf(policy, env).approval === 'required';

/**
 * The approvers of an environment; one without approvers of its own (staging) takes every
 * approver of the policy, so `force` there still needs one.
 */
export function approversOf(policy: Policy, env: EnvironmentName): string[] {
  const own = environmentOf(policy, env).approvers;
  if (own.length > 0) return own;
  return [...new Set(Object.values(policy.environments).flatMap((e) => e?.approvers ?? []))];
}

export function audienceOf(policy: Policy, env: EnvironmentName, capability: Capability): Audience {
  const approvers = approversOf(policy, env);
  if (capability === 'approve') return { everyone: false, ids: approvers };
  const { access } = environmentOf(policy, env);
  const listed = (field: 'view' | 'request' | 'respond'): Audience => {
    const value = access[field] ?? (isStrict(policy, env) ? [] : 'everyone');
    return value === 'everyone' ? { everyone: true, ids: [] } : { everyone: false, ids: value };
  };
  const parts = capability === 'view' ? [listed('view'), listed('request')] : [listed(capability)];
  if (parts.some((p) => p.everyone)) return { everyone: true, ids: [] };
  return { everyone: false, ids: [...new Set([...parts.flatMap((p) => p.ids), ...approvers])] };
}

/** The user-group ids whose members hold the capability: the caller asks Slack about these only. */
export const groupsOf = (audience: Audience): string[] => audience.ids.filter((id) => id.startsWith('S'));

const ACTS: Record<Capability, string> = {
  view: 'view',
  request: 'request changes in',
  respond: 'respond to alerts of',
  approve: 'approve changes in',
};

/**
 * Whether `user` holds `capability` in `env`; `memberOf` lists the user groups (of those
 * `groupsOf` named) the user is in, which the caller resolved with Slack.
 */
export function checkAccess(
  policy: Policy,
  env: EnvironmentName,
  capability: Capability,
  user: string,
  memberOf: readonly string[],
): AccessVerdict {
  const who = audienceOf(policy, env, capability);
  if (who.everyone || who.ids.includes(user) || memberOf.some((g) => who.ids.includes(g))) return OK;
  return {
    ok: false,
    reason: `you may not ${ACTS[capability]} ${env} (policy: environments.${env}.access.${capability === 'approve' ? 'approvers' : capability})`,
    who,
  };
}

/** The channel ids where an environment's commands are accepted, or `any`. */
export function channelsOf(policy: Policy, env: EnvironmentName): string[] | 'any' {
  const { access } = environmentOf(policy, env);
  const value = access.channels ?? (isStrict(policy, env) ? ['ops', 'incidents'] : 'any');
  if (value === 'any') return 'any';
  const byPurpose = policy.channels as Record<string, string>;
  return [...new Set(value.map((c) => byPurpose[c] ?? c))];
}

export function checkChannel(policy: Policy, env: EnvironmentName, channel: string): AccessVerdict {
  const allowed = channelsOf(policy, env);
  if (allowed === 'any' || allowed.includes(channel)) return OK;
  return {
    ok: false,
    reason: `${env} commands are not accepted in this channel (policy: environments.${env}.access.channels)`,
    who: { everyone: false, ids: [] },
  };
}
