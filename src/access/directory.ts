import type { WebClient } from '@slack/web-api';
import { systemClock, type Clock } from '../kernel/clock';
import type { Policy } from '../config/policy';
import { audienceOf, checkAccess, groupsOf, type AccessVerdict, type Capability } from './domain/rules';
import type { EnvironmentName } from '../commands/domain/types';

const GROUP_TTL_MS = 60_000;

/**
 * The policy's access rules with Slack's user groups resolved: group members are asked of
 * Slack only when a group could decide, and remembered for a minute.
 */
export class AccessDirectory {
  private readonly groups = new Map<string, { members: Set<string>; until: number }>();

  constructor(
    private readonly policy: Policy,
    private readonly client: WebClient,
    private readonly clock: Clock = systemClock,
  ) {}

  async check(env: EnvironmentName, capability: Capability, user: string): Promise<AccessVerdict> {
    const audience = audienceOf(this.policy, env, capability);
    if (audience.everyone || audience.ids.includes(user)) return { ok: true };
    const memberOf: string[] = [];
    for (const group of groupsOf(audience)) {
      if ((await this.members(group)).has(user)) memberOf.push(group);
    }
    return checkAccess(this.policy, env, capability, user, memberOf);
  }

  async isApprover(env: EnvironmentName, user: string): Promise<boolean> {
    return (await this.check(env, 'approve', user)).ok;
  }

  /** The members of a Slack user group (S…), as Slack says, remembered for a minute. */
  async members(group: string): Promise<Set<string>> {
    const cached = this.groups.get(group);
    if (cached && cached.until > this.clock.now()) return cached.members;
    const result = await this.client.usergroups.users.list({ usergroup: group });
    const members = new Set(result.users ?? []);
    this.groups.set(group, { members, until: this.clock.now() + GROUP_TTL_MS });
    return members;
  }
}
