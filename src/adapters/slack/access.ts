import type { WebClient } from '@slack/web-api';
import type { Policy } from '../../config/policy';
import type { EnvironmentName } from '../../domain/commands/types';

const GROUP_TTL_MS = 60_000;

/**
 * Who may approve: the policy's approvers are user ids or user-group ids; group
 * members are asked of Slack and remembered for a minute.
 */
export class ApproverDirectory {
  private readonly groups = new Map<string, { members: Set<string>; until: number }>();

  constructor(
    private readonly policy: Policy,
    private readonly client: WebClient,
  ) {}

  /**
   * An environment without approvers of its own (staging) takes every approver of the
   * policy, so `force` there still needs an approver.
   */
  approversOf(env: EnvironmentName): string[] {
    const own = this.policy.environments[env]?.approvers ?? [];
    if (own.length > 0) return own;
    return [...new Set(Object.values(this.policy.environments).flatMap((e) => e?.approvers ?? []))];
  }

  async isApprover(env: EnvironmentName, user: string): Promise<boolean> {
    const approvers = this.approversOf(env);
    if (approvers.includes(user)) return true;
    for (const group of approvers.filter((id) => id.startsWith('S'))) {
      if ((await this.members(group)).has(user)) return true;
    }
    return false;
  }

  private async members(group: string): Promise<Set<string>> {
    const cached = this.groups.get(group);
    if (cached && cached.until > Date.now()) return cached.members;
    const result = await this.client.usergroups.users.list({ usergroup: group });
    const members = new Set(result.users ?? []);
    this.groups.set(group, { members, until: Date.now() + GROUP_TTL_MS });
    return members;
  }
}
