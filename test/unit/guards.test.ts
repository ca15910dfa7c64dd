import { defaultPolicyPath, loadPolicy } from '../../src/config/policy';
import { actionId, parseActionId } from '../../src/kernel/slack/actions';
import { checkCooldown, checkDecision, checkReplicaBounds } from '../../src/requests/domain/guards';
import type { OpsRequest } from '../../src/requests/domain/types';

const policy = loadPolicy(defaultPolicyPath());
const NOW = 1_790_000_000_000;
const request: OpsRequest = {
  id: 'r0000abcd',
  verb: 'rollback',
  environment: 'production',
  services: ['payment'],
  args: {},
  requester: 'U0ENGINEER',
  channel: 'C0AZORAOPS',
  source: 'command',
  status: 'pending-approval',
  createdAt: NOW - 60_000,
  expiresAt: NOW + 840_000,
  plan: [{ kind: 'switch', service: 'payment', serviceName: 'azora-payment', from: 'blue', to: 'green' }],
};

describe('approval guards', () => {
  it('lets an approver other than the requester approve a pending request', () => {
    expect(checkDecision(policy, request, 'approve', 'U0APPROVER1', true, NOW)).toEqual({ ok: true });
  });

  it.each([
    [
      'the requester, even an approver',
      'U0ENGINEER',
      true,
      request,
      'you asked for this change; someone else must approve it (approvers: <@U0APPROVER1>, <@U0APPROVER2>, <!subteam^S0SREGROUP>)',
    ],
    [
      'a non-approver',
      'U0BYSTANDER',
      false,
      request,
      'only <@U0APPROVER1>, <@U0APPROVER2>, <!subteam^S0SREGROUP> can approve production changes',
    ],
    [
      'anyone after expiry',
      'U0APPROVER1',
      true,
      { ...request, expiresAt: NOW - 90_000 },
      'this request expired 1m30s ago; ask again with the same command',
    ],
    [
      'a second approval',
      'U0APPROVER2',
      true,
      { ...request, status: 'approved', approvedBy: { user: 'U0APPROVER1', at: NOW } },
      'already approved by <@U0APPROVER1>',
    ],
    [
      'after a denial',
      'U0APPROVER2',
      true,
      { ...request, status: 'denied', deniedBy: { user: 'U0APPROVER1', at: NOW } },
      'already denied by <@U0APPROVER1>',
    ],
  ] as const)('refuses %s', (_who, user, isApprover, req, reason) => {
    expect(checkDecision(policy, req as OpsRequest, 'approve', user, isApprover, NOW)).toEqual({
      ok: false,
      reason,
    });
  });

  it('lets the requester withdraw but not a bystander deny', () => {
    expect(checkDecision(policy, request, 'deny', 'U0ENGINEER', false, NOW)).toEqual({ ok: true });
    expect(checkDecision(policy, request, 'deny', 'U0BYSTANDER', false, NOW).ok).toBe(false);
  });
});

describe('replica bounds and cooldown', () => {
  it('uses the environment’s bounds when it has its own', () => {
    expect(checkReplicaBounds(policy, 'staging', 'auth', 6)).toEqual({ ok: true });
    expect(checkReplicaBounds(policy, 'staging', 'auth', 7)).toEqual({
      ok: false,
      reason: 'auth in staging must run between 2 and 6 replicas (policy); 7 is outside',
    });
    expect(checkReplicaBounds(policy, 'production', 'auth', 2).ok).toBe(false);
  });

  it('keeps scale changes apart unless forced', () => {
    expect(checkCooldown(undefined, 180_000, NOW, 'auth', false)).toEqual({ ok: true });
    expect(checkCooldown(NOW - 200_000, 180_000, NOW, 'auth', false)).toEqual({ ok: true });
    expect(checkCooldown(NOW - 60_000, 180_000, NOW, 'auth', true)).toEqual({ ok: true });
    expect(checkCooldown(NOW - 60_000, 180_000, NOW, 'auth', false)).toEqual({
      ok: false,
      reason:
        'auth was scaled 1m ago; scale changes are 3m apart. Try again in 2m, or add `force` (it counts when an approver asks for it or approves the request)',
    });
    // Asked for by someone whose force does not count: the refusal does not tell them to add it.
    expect(checkCooldown(NOW - 60_000, 180_000, NOW, 'auth', false, true)).toEqual({
      ok: false,
      reason:
        'auth was scaled 1m ago; scale changes are 3m apart. Try again in 2m: `force` did not count, it counts when an approver asks for it or approves the request',
    });
  });
});

describe('button action ids', () => {
  it('round-trips, and rejects what is not ours', () => {
    expect(parseActionId(actionId('approve', 'r0000abcd'))).toEqual({
      kind: 'approve',
      subject: 'r0000abcd',
    });
    expect(parseActionId('azora:reboot:r1')).toBeUndefined();
    expect(parseActionId('other:approve:r1')).toBeUndefined();
    expect(parseActionId('azora:approve:')).toBeUndefined();
  });
});
