import { parsePolicy, defaultPolicyPath, loadPolicy, type Policy } from '../../src/config/policy';
import { audienceOf, channelsOf, checkAccess, checkChannel } from '../../src/access/domain/rules';
import { checkPlanAgainstPolicy } from '../../src/requests/domain/validate';
import type { OpsRequest } from '../../src/requests/domain/types';
import { ConfigError } from '../../src/config/errors';
import { readFileSync } from 'node:fs';

const shipped = loadPolicy(defaultPolicyPath());

describe('the access model of the shipped policy', () => {
  it('keeps production strict: listed users and groups, the approvers always included', () => {
    expect(checkAccess(shipped, 'production', 'request', 'U0SOMEONE', [])).toMatchObject({
      ok: false,
      reason: 'you may not request changes in production (policy: environments.production.access.request)',
    });
    expect(checkAccess(shipped, 'production', 'request', 'U0SOMEONE', ['S0SREGROUP']).ok).toBe(true);
    for (const capability of ['view', 'request', 'respond', 'approve'] as const) {
      expect(checkAccess(shipped, 'production', capability, 'U0APPROVER1', []).ok).toBe(true);
    }
  });

  it('lets those who may request also view, but not respond', () => {
    const policy = structuredClone(shipped);
    policy.environments.production!.access.request = ['S0REQUESTERS'];
    expect(checkAccess(policy, 'production', 'view', 'U0X', ['S0REQUESTERS']).ok).toBe(true);
    expect(checkAccess(policy, 'production', 'respond', 'U0X', ['S0REQUESTERS']).ok).toBe(false);
    expect(checkAccess(policy, 'production', 'respond', 'U0X', ['S0ONCALL']).ok).toBe(true);
  });

  it('names who can when it refuses', () => {
    const verdict = checkAccess(shipped, 'production', 'respond', 'U0X', []);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok)
      expect(verdict.who.ids).toEqual(['S0ONCALL', 'U0APPROVER1', 'U0APPROVER2', 'S0SREGROUP']);
  });

  it('leaves staging open to the workspace, in any channel; approving there takes an approver of the policy', () => {
    expect(audienceOf(shipped, 'staging', 'request')).toEqual({ everyone: true, ids: [] });
    expect(checkChannel(shipped, 'staging', 'C0ANYWHERE').ok).toBe(true);
    expect(checkAccess(shipped, 'staging', 'approve', 'U0SOMEONE', []).ok).toBe(false);
    expect(checkAccess(shipped, 'staging', 'approve', 'U0APPROVER2', []).ok).toBe(true);
  });

  it('accepts production commands in the ops and incidents channels only', () => {
    expect(channelsOf(shipped, 'production')).toEqual(['C0AZORAOPS', 'C0INCIDENTS']);
    expect(checkChannel(shipped, 'production', 'C0ALERTS')).toMatchObject({ ok: false });
  });

  it('defaults production to the approvers alone and the ops and incidents channels when access is unset', () => {
    const policy = structuredClone(shipped);
    policy.environments.production!.access = {};
    expect(audienceOf(policy, 'production', 'view')).toEqual({
      everyone: false,
      ids: ['U0APPROVER1', 'U0APPROVER2', 'S0SREGROUP'],
    });
    expect(channelsOf(policy, 'production')).toEqual(['C0AZORAOPS', 'C0INCIDENTS']);
  });

  it('refuses a policy whose access names something that is not a Slack id, naming the field', () => {
    const text = readFileSync(defaultPolicyPath(), 'utf8').replace(
      'request: [S0SREGROUP]',
      'request: [sre-team]',
    );
    expect(() => parsePolicy(text, 'p.yaml')).toThrow(ConfigError);
    expect(() => parsePolicy(text, 'p.yaml')).toThrow(/environments\.production\.access\.request/);
  });
});

describe('the executor re-checks a stored plan against the policy', () => {
  const scale = (to: number, service = 'api-gateway'): OpsRequest => ({
    id: 'r00000001',
    verb: 'scale',
    environment: 'production',
    services: [service],
    args: { replicas: to },
    requester: 'U0ENGINEER',
    channel: 'C0AZORAOPS',
    source: 'command',
    status: 'approved',
    createdAt: 0,
    plan: [{ kind: 'scale', service, target: `azora-${service}-blue`, from: 3, to }],
  });

  it('passes a plan inside the bounds', () => {
    expect(checkPlanAgainstPolicy(shipped, scale(5))).toEqual({ ok: true });
  });

  it.each<[string, OpsRequest, RegExp]>([
    ['a replica count past the bounds', scale(50), /must run between 3 and 10 replicas/],
    ['a service the policy does not have', scale(4, 'intruder'), /service 'intruder' is not in the policy/],
    [
      'a step on a service not asked for',
      { ...scale(4), services: ['auth'] },
      /touches api-gateway, which was not asked for/,
    ],
    [
      'a switch of another Service',
      {
        ...scale(4),
        verb: 'switch',
        plan: [
          { kind: 'switch', service: 'api-gateway', serviceName: 'kube-dns', from: 'blue', to: 'green' },
        ],
      },
      /not switched as planned/,
    ],
    [
      'a rollback on a blue/green service',
      {
        ...scale(4),
        verb: 'rollback',
        plan: [
          {
            kind: 'rollback',
            service: 'api-gateway',
            deployment: 'azora-api-gateway',
            replicaSet: 'x',
            fromRevision: 2,
            toRevision: 1,
            fromImage: 'a',
            toImage: 'b',
          },
        ],
      },
      /no rolling deployment/,
    ],
  ])('refuses %s', (_what, request, reason) => {
    const verdict = checkPlanAgainstPolicy(shipped, request);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.reason).toMatch(reason);
  });

  it('refuses an environment the policy no longer has', () => {
    const policy = {
      ...shipped,
      environments: { staging: shipped.environments.staging } as Policy['environments'],
    };
    expect(checkPlanAgainstPolicy(policy, scale(5))).toMatchObject({ ok: false });
  });
});
