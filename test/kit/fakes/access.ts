import type { AccessDirectory } from '../../../src/access/directory';
import {
  audienceOf,
  checkAccess,
  groupsOf,
  type AccessVerdict,
  type Capability,
} from '../../../src/access/domain/rules';
import type { EnvironmentName } from '../../../src/kernel/domain/environment';
import type { Policy } from '../../../src/config/policy';

/**
 * AccessDirectory with Slack's user groups given up front: the policy's rules decide
 * (src/access/domain/rules.ts), exactly as in the real directory; only the group
 * membership, which the real one asks Slack for, is a fixed map here.
 */
export class FakeAccessDirectory implements Pick<AccessDirectory, 'check' | 'isApprover'> {
  constructor(
    private readonly policy: Policy,
    private readonly groups: Record<string, readonly string[]> = {},
  ) {}

  async check(env: EnvironmentName, capability: Capability, user: string): Promise<AccessVerdict> {
    const memberOf = groupsOf(audienceOf(this.policy, env, capability)).filter((g) =>
      this.groups[g]?.includes(user),
    );
    return checkAccess(this.policy, env, capability, user, memberOf);
  }

  async isApprover(env: EnvironmentName, user: string): Promise<boolean> {
    return (await this.check(env, 'approve', user)).ok;
  }
}
