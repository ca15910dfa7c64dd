import { defaultPolicyPath, loadPolicy, type Policy } from '../../src/config/policy';
import { sandboxPolicy } from '../../sandbox/users';
import { ONCALL } from './ids';

/**
 * The shipped policy as the tests act under it: the sandbox's people (ENGINEER may view,
 * request and respond in production; the two approvers approve), and ONCALL, who responds
 * to alerts and requests runbook changes. BYSTANDER is in no list.
 */
export function testPolicy(): Policy {
  const policy = sandboxPolicy(loadPolicy(defaultPolicyPath()));
  const { access } = policy.environments.production!;
  for (const field of ['respond', 'request'] as const) {
    const listed = access[field];
    if (Array.isArray(listed)) access[field] = [...listed, ONCALL];
  }
  return policy;
}
