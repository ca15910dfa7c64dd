import { KubeError } from '../../src/kernel/kubernetes/errors';
import { executeRequest } from '../../src/requests/executor';
import { appendRelease, versionOf } from '../../src/kernel/domain/release';
import { expireRequestProcessor } from '../../jobs/expire-request';
import type { OpsRequest, PlanStep } from '../../src/requests/domain/types';
import { fakeWorld, type FakeWorld } from '../kit/fakes/deps';
import { APPROVER, ENGINEER, OPS } from '../kit/ids';
import { testPolicy } from '../kit/policy';

// executeRequest against in-memory fakes of its ports and a clock the test moves.
const NOW = Date.UTC(2026, 10, 26, 10, 0);
const ID = 'r0000e001';
const PROD_GATEWAY = 'azora-api-gateway-blue';
const POLICY = testPolicy();
const FORCE_RULE = 'it counts when an approver asks for it or approves the request';

const scaleStep = (from: number, to: number): PlanStep => ({
  kind: 'scale',
  service: 'api-gateway',
  target: PROD_GATEWAY,
  from,
  to,
});

function approved(plan: PlanStep[], overrides: Partial<OpsRequest> = {}): OpsRequest {
  return {
    id: ID,
    verb: plan[0]!.kind === 'scale' ? 'scale' : 'switch',
    environment: 'production',
    services: [...new Set(plan.map((s) => s.service))],
    args: plan[0]!.kind === 'scale' ? { replicas: plan[0]!.to } : {},
    requester: ENGINEER,
    channel: OPS,
    messageTs: '1700000000.000100',
    progressTs: '1700000000.000200',
    source: 'command',
    status: 'approved',
    createdAt: NOW - 120_000,
    expiresAt: NOW + 780_000,
    approvedBy: { user: APPROVER, at: NOW - 60_000 },
    plan,
    ...overrides,
  };
}

describe('executeRequest', () => {
  let w: FakeWorld;
  const run = (finalAttempt = false) => executeRequest(w.deps, ID, { finalAttempt });
  const stored = async () => (await w.requests.get(ID))!;

  beforeEach(() => {
    w = fakeWorld(structuredClone(POLICY), { now: NOW });
  });

  describe('a scale', () => {
    it('applies once, records the cooldown, reports and releases the lock', async () => {
      await w.requests.create(approved([scaleStep(3, 5)]));

      expect(await run()).toBe('succeeded');

      expect(w.cluster.changes()).toEqual([{ method: 'scale', args: ['production', 'api-gateway', 5] }]);
      expect(w.cluster.workload('production', PROD_GATEWAY).replicas).toBe(5);
      expect(w.cluster.callsOf('waitForScale')).toEqual([
        ['production', 'api-gateway', PROD_GATEWAY, 5, 60_000],
      ]);
      expect(await w.locks.holder('production', 'api-gateway')).toBeNull();
      expect(await w.locks.lastScale('production', 'api-gateway')).toBe(NOW);
      const request = await stored();
      expect(request).toMatchObject({ status: 'succeeded', startedAt: NOW, finishedAt: NOW });
      expect(request.outcome).toEqual([`api-gateway: ${PROD_GATEWAY} scaled 3 → 5 · /api/health healthy`]);
      expect(w.audit.typesOf(ID)).toEqual(['started', 'succeeded']);
      // The progress reply is edited as the job moves on, the parent once at the end.
      expect(w.messenger.updatesOf(request.progressTs!).length).toBeGreaterThanOrEqual(2);
      expect(w.messenger.updatesOf(request.messageTs!)).toHaveLength(1);
    });

    it('succeeds, and is audited so, when Slack refuses every edit of its thread', async () => {
      await w.requests.create(approved([scaleStep(3, 5)]));
      for (let i = 0; i < 10; i++)
        w.messenger.failNext('update', new Error('An API error occurred: internal_error'));

      expect(await run()).toBe('succeeded');

      expect(w.cluster.changes()).toEqual([{ method: 'scale', args: ['production', 'api-gateway', 5] }]);
      expect((await stored()).status).toBe('succeeded');
      expect(w.audit.typesOf(ID)).toEqual(['started', 'succeeded']);
      expect(await w.locks.holder('production', 'api-gateway')).toBeNull();
    });

    it('after a transient KubeError keeps the lock, and its retry does not apply twice', async () => {
      await w.requests.create(approved([scaleStep(3, 5)]));
      w.cluster.failNext('waitForScale', new KubeError('timeout', 'the API server took too long'));

      await expect(run()).rejects.toThrow('the API server took too long');
      expect(await w.locks.holder('production', 'api-gateway')).toBe(ID);
      expect((await stored()).status).toBe('running');

      // The retry comes inside the cooldown its own first attempt started: that one does not count.
      w.clock.advance(30_000);
      expect(await run()).toBe('succeeded');

      expect(w.cluster.changes()).toHaveLength(1);
      expect(w.cluster.callsOf('waitForScale')).toHaveLength(2);
      expect(w.audit.typesOf(ID)).toEqual(['started', 'succeeded']);
      expect(await w.locks.holder('production', 'api-gateway')).toBeNull();
    });

    it('on its final attempt, a transient KubeError fails the request and releases the lock', async () => {
      await w.requests.create(approved([scaleStep(3, 5)]));
      w.cluster.failNext('waitForScale', new KubeError('timeout', 'the API server took too long'));

      expect(await run(true)).toBe('failed');

      expect((await stored()).error).toBe('the API server took too long');
      expect(await w.locks.holder('production', 'api-gateway')).toBeNull();
    });

    it('ends stale when the service was switched since the plan: the planned colour no longer serves', async () => {
      await w.requests.create(approved([scaleStep(3, 5)]));
      w.cluster.setActive('production', 'api-gateway', 'green');

      expect(await run()).toBe('stale');

      expect((await stored()).error).toBe(
        `api-gateway serves green now, not blue as when ${PROD_GATEWAY} was planned`,
      );
      expect(w.cluster.changes()).toEqual([]);
      expect(w.cluster.workload('production', 'azora-api-gateway-green').replicas).not.toBe(5);
    });

    it('scales only the workload its plan pinned, even when the live one changes under it', async () => {
      const scale = w.cluster.scale.bind(w.cluster);
      // Switched by someone else between the executor's check and its scale call.
      w.cluster.scale = (...args) => {
        w.cluster.setActive('production', 'api-gateway', 'green');
        return scale(...args);
      };
      await w.requests.create(approved([scaleStep(3, 5)]));

      expect(await run(true)).toBe('failed');

      expect((await stored()).error).toBe(
        `api-gateway in production runs on azora-api-gateway-green now, not ${PROD_GATEWAY}`,
      );
      expect(w.cluster.workload('production', 'azora-api-gateway-green').replicas).not.toBe(5);
      expect(w.cluster.workload('production', PROD_GATEWAY).replicas).toBe(3);
    });

    it('ends stale when the live replicas match neither end of the plan, changing nothing', async () => {
      await w.requests.create(approved([scaleStep(3, 5)]));
      w.cluster.setReplicas('production', PROD_GATEWAY, 4);

      expect(await run()).toBe('stale');

      expect(await stored()).toMatchObject({
        status: 'stale',
        error: `${PROD_GATEWAY} runs 4 replicas now, not 3 as planned`,
      });
      expect(w.cluster.changes()).toEqual([]);
      expect(await w.locks.holder('production', 'api-gateway')).toBeNull();
      expect(await w.locks.lastScale('production', 'api-gateway')).toBeUndefined();
    });

    it.each([
      ['between two steps', [scaleStep(3, 5), scaleStep(5, 6)], [true, false], 6],
      ['after its only step, before its verdict', [scaleStep(3, 5)], [true, false], 5],
    ])(
      'stops %s once its job is another run’s, leaving that run the lock and the report',
      async (_when, plan, answers, replicas) => {
        await w.requests.create(approved(plan));
        // The worker stalled during the first step, and the job went to another run.
        const owned = async () => answers.shift() ?? false;

        expect(await executeRequest(w.deps, ID, { finalAttempt: false, owned })).toBe('skipped');

        expect(answers).toEqual([]);
        expect(w.cluster.changes()).toEqual([{ method: 'scale', args: ['production', 'api-gateway', 5] }]);
        expect((await stored()).status).toBe('running');
        expect(w.audit.typesOf(ID)).toEqual(['started']);
        expect(await w.locks.holder('production', 'api-gateway')).toBe(ID);
        // The run that has the job finishes the change from where it stands.
        expect(await run()).toBe('succeeded');
        expect(w.cluster.workload('production', PROD_GATEWAY).replicas).toBe(replicas);
        expect(w.audit.typesOf(ID)).toEqual(['started', 'succeeded']);
      },
    );

    it('carries on when Redis cannot say whose the job is', async () => {
      await w.requests.create(approved([scaleStep(3, 5)]));
      const owned = async (): Promise<boolean> => {
        throw new Error('Connection is closed.');
      };

      expect(await executeRequest(w.deps, ID, { finalAttempt: false, owned })).toBe('succeeded');
      expect(w.audit.typesOf(ID)).toEqual(['started', 'succeeded']);
    });

    it('already at its target (applied by an earlier attempt) does not scale again', async () => {
      await w.requests.create(approved([scaleStep(3, 5)]));
      w.cluster.setReplicas('production', PROD_GATEWAY, 5);

      expect(await run()).toBe('succeeded');
      expect(w.cluster.changes()).toEqual([]);
    });
  });

  it('ends a rollback stale when the deployment runs neither image of the plan', async () => {
    const policy = w.policy;
    w.cluster.rollout('staging', 'azora-auth', 'registry.azora.example/azora-auth:1.1.0');
    w.cluster.rollout('staging', 'azora-auth', 'registry.azora.example/azora-auth:1.2.0');
    const plan: PlanStep = {
      kind: 'rollback',
      service: 'auth',
      deployment: 'azora-auth',
      replicaSet: 'azora-auth-2',
      fromRevision: 2,
      toRevision: 1,
      fromImage: 'registry.azora.example/azora-auth:1.1.0',
      toImage: 'registry.azora.example/azora-auth:1.0.0',
    };
    await w.requests.create(
      approved([plan], { verb: 'rollback', environment: 'staging', approvedBy: undefined }),
    );
    expect(policy.environments.staging!.approval).toBe('none');

    expect(await run()).toBe('stale');

    expect((await stored()).error).toBe(
      'azora-auth runs registry.azora.example/azora-auth:1.2.0 now, not registry.azora.example/azora-auth:1.1.0 as planned',
    );
    expect(w.cluster.changes()).toEqual([]);
  });

  describe('a switch of several services', () => {
    const switches: PlanStep[] = ['api-gateway', 'auth', 'payment'].map((service) => ({
      kind: 'switch',
      service,
      serviceName: `azora-${service}`,
      from: 'blue',
      to: 'green',
    }));

    it('ends stale when a target colour runs another image than the approved plan, moving no traffic', async () => {
      const blue = w.cluster.workload('production', 'azora-payment-blue').image;
      const green = w.cluster.workload('production', 'azora-payment-green').image;
      await w.requests.create(
        approved([
          {
            kind: 'switch',
            service: 'payment',
            serviceName: 'azora-payment',
            from: 'blue',
            to: 'green',
            fromImage: blue,
            toImage: green,
          },
        ]),
      );
      const other = green.replace(/:[^:]+$/, ':v9.9.9');
      w.cluster.rollout('production', 'azora-payment-green', other);

      expect(await run()).toBe('stale');

      expect((await stored()).error).toBe(
        `payment's green runs ${versionOf(other)} now, not ${versionOf(green)} as planned`,
      );
      expect(w.cluster.changes()).toEqual([]);
      expect(w.cluster.activeOf('production', 'payment')).toBe('blue');
    });

    it('checks every target colour first and moves none when one is not ready', async () => {
      await w.requests.create(approved(switches));
      w.cluster.workload('production', 'azora-auth-green').available = 1;

      expect(await run()).toBe('refused');

      expect((await stored()).error).toBe(
        'not switching anything: auth to green: azora-auth-green has 1 of 3 replicas available',
      );
      expect(w.cluster.callsOf('colourNotReady')).toEqual([
        ['production', 'api-gateway', 'green'],
        ['production', 'auth', 'green'],
        ['production', 'payment', 'green'],
      ]);
      expect(w.cluster.changes()).toEqual([]);
      for (const service of ['api-gateway', 'auth', 'payment'])
        expect(w.cluster.activeOf('production', service)).toBe('blue');
      expect(await w.locks.holder('production', 'auth')).toBeNull();
    });

    describe('while the start is still being audited', () => {
      // The start's audit write held until the test lets it land.
      let land: () => void;
      beforeEach(() => {
        const record = w.audit.record.bind(w.audit);
        const landed = new Promise<void>((resolve) => (land = resolve));
        w.audit.record = async (event, at) => {
          if (event.type === 'started') await landed;
          return record(event, at);
        };
      });
      const turns = async (until: () => boolean) => {
        for (let i = 0; i < 100 && !until(); i++) await new Promise((r) => setImmediate(r));
      };

      it('reads the target colours, and changes nothing until it is in', async () => {
        await w.requests.create(approved(switches));

        const result = run();
        await turns(() => w.cluster.callsOf('colourNotReady').length === 3);

        expect(w.cluster.callsOf('colourNotReady')).toHaveLength(3);
        expect(w.cluster.changes()).toEqual([]);
        expect(w.audit.typesOf(ID)).toEqual([]);
        land();
        expect(await result).toBe('succeeded');
        expect(w.cluster.changes()).toHaveLength(3);
        expect(w.audit.typesOf(ID)).toEqual(['started', 'succeeded']);
      });

      it('records a refusal only after it', async () => {
        await w.requests.create(approved(switches));
        w.cluster.workload('production', 'azora-auth-green').available = 1;

        const result = run();
        await turns(() => w.cluster.callsOf('colourNotReady').length === 3);
        land();

        expect(await result).toBe('refused');
        expect(w.audit.typesOf(ID)).toEqual(['started', 'refused']);
      });
    });

    it('moves them all when every colour is ready', async () => {
      await w.requests.create(approved(switches));

      expect(await run()).toBe('succeeded');

      expect(w.cluster.changes().map((c) => c.args.slice(0, 4))).toEqual([
        ['production', 'api-gateway', 'green', 30_000],
        ['production', 'auth', 'green', 30_000],
        ['production', 'payment', 'green', 30_000],
      ]);
      expect((await stored()).outcome).toEqual([
        'api-gateway: traffic blue (1.0.0) → green (1.0.0) · /api/health healthy',
        'auth: traffic blue (1.0.0) → green (1.0.0) · /api/auth/health healthy',
        'payment: traffic blue (1.0.0) → green (1.0.0) · /api/pay/health healthy',
      ]);
      // Each switch writes what went live and what served before, in the same call, and indexes it.
      const record = w.cluster.changes()[2]!.args[4];
      expect(record).toMatchObject({
        id: ID,
        action: 'switch',
        colour: 'green',
        version: '1.0.0',
        previous: { colour: 'blue', version: '1.0.0' },
        requester: ENGINEER,
        approver: APPROVER,
        result: 'succeeded',
      });
      expect(await w.releases.history('production', 'payment')).toEqual([record]);
    });
  });

  describe('re-validation before anything changes', () => {
    it('refuses a plan the policy no longer allows', async () => {
      await w.requests.create(approved([scaleStep(3, 8)]));
      w.policy.services['api-gateway']!.replicas = { min: 3, max: 6 };

      expect(await run()).toBe('refused');

      expect((await stored()).error).toBe(
        'the policy no longer allows it: api-gateway in production must run between 3 and 6 replicas (policy); 8 is outside',
      );
      expect(w.cluster.calls).toEqual([]);
      expect(await w.locks.holder('production', 'api-gateway')).toBeNull();
    });

    it('refuses when the approver is no longer in the policy', async () => {
      await w.requests.create(approved([scaleStep(3, 5)]));
      const production = w.policy.environments.production!;
      production.approvers = production.approvers.filter((id) => id !== APPROVER);

      expect(await run()).toBe('refused');

      expect((await stored()).error).toBe(`<@${APPROVER}> is no longer an approver of production (policy)`);
      expect(w.cluster.calls).toEqual([]);
    });
  });

  describe('the scale cooldown', () => {
    const stagingScale = (args: OpsRequest['args'], requester = ENGINEER) =>
      approved([{ kind: 'scale', service: 'auth', target: 'azora-auth', from: 2, to: 4 }], {
        environment: 'staging',
        args,
        requester,
        approvedBy: undefined,
      });

    beforeEach(async () => {
      // Another request scaled auth in staging a minute ago, and is done.
      await w.locks.acquire('staging', 'auth', 'r0000e000', 600_000);
      await w.locks.recordScale('staging', 'auth', NOW - 60_000);
      await w.locks.release('staging', 'auth', 'r0000e000');
    });

    it('refuses inside it and says force would lift it', async () => {
      await w.requests.create(stagingScale({ replicas: 4 }));

      expect(await run()).toBe('refused');

      expect((await stored()).error).toBe(
        'auth was scaled 1m ago; scale changes are 3m apart. ' +
          `Try again in 2m, or add \`force\` (${FORCE_RULE})`,
      );
      expect(w.cluster.changes()).toEqual([]);
    });

    it('refuses a force that did not count, and says why', async () => {
      await w.requests.create(stagingScale({ replicas: 4, force: true }));

      expect(await run()).toBe('refused');

      expect((await stored()).error).toBe(
        'auth was scaled 1m ago; scale changes are 3m apart. ' +
          `Try again in 2m: \`force\` did not count, ${FORCE_RULE}`,
      );
    });

    it('is lifted by the force of an approver', async () => {
      await w.requests.create(stagingScale({ replicas: 4, force: true }, APPROVER));

      expect(await run()).toBe('succeeded');
      expect(w.cluster.changes()).toEqual([{ method: 'scale', args: ['staging', 'auth', 4] }]);
    });

    it('is over once the clock has passed it', async () => {
      await w.requests.create(stagingScale({ replicas: 4 }));
      w.clock.advance(120_000);

      expect(await run()).toBe('succeeded');
    });
  });

  it('refuses while another request holds a lock, naming it', async () => {
    await w.requests.create(approved([scaleStep(3, 5)]));
    await w.requests.create({ ...approved([scaleStep(3, 4)]), id: 'r0000e999', status: 'running' });
    await w.locks.acquire('production', 'api-gateway', 'r0000e999', 600_000);

    expect(await run()).toBe('locked');
    expect((await stored()).status).toBe('refused');

    expect((await stored()).error).toBe(
      `another change holds the lock: request \`r0000e999\` (\`scale production api-gateway 4\` by <@${ENGINEER}>)`,
    );
    expect(await w.locks.holder('production', 'api-gateway')).toBe('r0000e999');
    expect(w.cluster.changes()).toEqual([]);
  });

  it('skips a request that is already finished', async () => {
    await w.requests.create({ ...approved([scaleStep(3, 5)]), status: 'succeeded' });

    expect(await run()).toBe('skipped');
    expect(w.cluster.calls).toEqual([]);
    expect(w.audit.events).toEqual([]);
  });
});

/** `image` deployed to staging, succeeded: what the promotion rule asks before production. */
function releasedInStaging(w: FakeWorld, image: string): void {
  const version = image.slice(image.lastIndexOf(':') + 1);
  const record = {
    id: 'r0staging',
    action: 'deploy' as const,
    version,
    image,
    requester: 'U0ENGINEER',
    start: NOW - 60_000,
    result: 'succeeded' as const,
  };
  w.cluster.setReleaseAnnotation('staging', 'payment', appendRelease([], record, 20));
}

describe('executeRequest: deploy', () => {
  let w: FakeWorld;
  const run = (finalAttempt = false) => executeRequest(w.deps, ID, { finalAttempt });
  const stored = async () => (await w.requests.get(ID))!;
  const image = (service: string, version: string) => `registry.azora.world/azora/${service}:${version}`;
  const history = (env: 'staging' | 'production', service: string) => w.cluster.releases(env, service);

  beforeEach(() => {
    const policy = structuredClone(POLICY);
    policy.services['payment']!.smoke = [{ path: '/version', status: 200 }];
    w = fakeWorld(policy, { now: NOW });
  });

  const blueGreenDeploy: PlanStep = {
    kind: 'deploy',
    service: 'payment',
    deployment: 'azora-payment-green',
    fromImage: image('payment', '1.0.0'),
    toImage: image('payment', '1.6.0'),
    blueGreen: {
      serviceName: 'azora-payment',
      live: 'blue',
      liveImage: image('payment', '1.0.0'),
      idle: 'green',
      replicas: 3,
    },
  };
  const deployRequest = (step: PlanStep, environment: 'staging' | 'production' = 'production') => {
    // A version goes to production once released in staging: the executor asks again when it runs.
    if (environment === 'production') releasedInStaging(w, image('payment', '1.6.0'));
    return approved([step], { verb: 'deploy', environment, args: { version: '1.6.0' } });
  };

  it('staging: sets the image, waits for the rollout, checks health and smoke through the Service, records it', async () => {
    const step: PlanStep = {
      kind: 'deploy',
      service: 'payment',
      deployment: 'azora-payment',
      fromImage: image('payment', '1.0.0'),
      toImage: image('payment', '1.6.0'),
    };
    await w.requests.create(deployRequest(step, 'staging'));

    expect(await run()).toBe('succeeded');

    expect(w.cluster.changes().map((c) => c.method)).toEqual(['setImage', 'recordRelease']);
    expect(w.cluster.callsOf('waitForRollout')).toEqual([
      ['staging', 'azora-staging', 'azora-payment', 60_000],
    ]);
    expect(w.cluster.callsOf('probeService')).toEqual([
      ['staging', 'payment', '/api/pay/health'],
      ['staging', 'payment', '/version'],
    ]);
    expect((await stored()).outcome).toEqual([
      'payment: 1.0.0 → *1.6.0* (setting the image 0ms, rollout 0ms, checks 0ms) · 2 checks passed',
    ]);
    expect(await history('staging', 'payment')).toEqual([
      expect.objectContaining({ id: ID, action: 'deploy', version: '1.6.0', result: 'succeeded' }),
    ]);
  });

  it('production: the idle colour gets the version and the live replicas, is checked on its pods, then takes the traffic', async () => {
    await w.requests.create(deployRequest(blueGreenDeploy));

    expect(await run()).toBe('succeeded');

    expect(w.cluster.changes().map((c) => [c.method, ...c.args.slice(0, 4)])).toEqual([
      ['setImage', 'production', 'payment', 'azora-payment-green', image('payment', '1.6.0')],
      ['scaleDeployment', 'production', 'payment', 'azora-payment-green', 3],
      ['switchColour', 'production', 'payment', 'green', 30_000],
    ]);
    // Checked on the green pods themselves, never through the live Service.
    expect(w.cluster.callsOf('probePods').map((args) => args[3])).toEqual(['/api/pay/health', '/version']);
    expect(w.cluster.callsOf('probeService')).toEqual([]);
    expect(w.cluster.activeOf('production', 'payment')).toBe('green');
    const [record] = await history('production', 'payment');
    expect(record).toMatchObject({
      action: 'deploy',
      version: '1.6.0',
      colour: 'green',
      previous: { colour: 'blue', version: '1.0.0' },
      approver: APPROVER,
    });
    expect(await w.releases.history('production', 'payment')).toEqual([record]);
  });

  it('production: once the traffic moved, checks health through the Service, and says so when it fails', async () => {
    // The green pods answer on their own, but not behind the Service (its database, say).
    w.cluster.setHealth('production', 'payment', { ok: false, detail: 'database unreachable' });
    await w.requests.create(deployRequest(blueGreenDeploy));

    expect(await run()).toBe('succeeded');

    expect(w.cluster.activeOf('production', 'payment')).toBe('green');
    expect(w.cluster.callsOf('health')).toEqual([['production', 'payment']]);
    const request = await stored();
    expect(request.unhealthy).toEqual(['payment']);
    expect(request.outcome?.[0]).toMatch(
      /traffic blue → \*green\* · :warning: \/api\/pay\/health unhealthy: database unreachable$/,
    );
  });

  it('production: a failed check on the idle colour leaves live traffic where it was and says where it stopped', async () => {
    w.cluster.answerPods('production', 'azora-payment-green', '/version', (pod) =>
      pod.endsWith('-1') ? { status: 500, detail: 'boom' } : { status: 200, detail: '{}' },
    );
    await w.requests.create(deployRequest(blueGreenDeploy));

    expect(await run()).toBe('failed');

    expect(w.cluster.activeOf('production', 'payment')).toBe('blue');
    expect(w.cluster.callsOf('switchColour')).toEqual([]);
    expect((await stored()).error).toBe(
      'payment 1.6.0 stopped at checks on green: smoke /version on azora-payment-green-1: status 500, expected 200 (boom); live traffic stays on blue (1.0.0)',
    );
    expect(await history('production', 'payment')).toEqual([
      expect.objectContaining({
        id: ID,
        result: 'failed',
        detail: expect.stringContaining('smoke /version'),
      }),
    ]);
    expect(await w.locks.holder('production', 'payment')).toBeNull();
  });

  it('production: an idle colour that never rolls out fails at once, not after waiting out its deadline on every retry', async () => {
    w.cluster.holdRollouts('production', 'azora-payment-green');
    await w.requests.create(deployRequest(blueGreenDeploy));

    // Not the final attempt: a rollout past its deadline is the deploy's failure, not a blip to retry.
    expect(await run(false)).toBe('failed');

    expect(w.cluster.callsOf('waitForRollout')).toHaveLength(1);
    expect(w.cluster.activeOf('production', 'payment')).toBe('blue');
    expect((await stored()).error).toMatch(
      /^payment 1\.6\.0 stopped at rollout: rollout of azora-payment-green did not finish within \d+s: .*; live traffic stays on blue \(1\.0\.0\)$/,
    );
    expect(await history('production', 'payment')).toEqual([
      expect.objectContaining({ id: ID, result: 'failed' }),
    ]);
    expect(await w.locks.holder('production', 'payment')).toBeNull();
  });

  it('production: traffic moved, then the endpoints lagged: failed, but recorded live, saying where traffic is', async () => {
    w.cluster.holdEndpoints('production', 'payment');
    await w.requests.create(deployRequest(blueGreenDeploy));

    expect(await run()).toBe('failed');

    expect(w.cluster.activeOf('production', 'payment')).toBe('green');
    expect((await stored()).error).toBe(
      'payment 1.6.0 stopped at switching traffic to green: service azora-payment selects green but its endpoints did not follow within 30s; traffic is on green (1.6.0) now, blue still holds 1.0.0',
    );
    // What a rollback goes by: green is live, and blue was live before it.
    const [record] = await history('production', 'payment');
    expect(record).toMatchObject({
      id: ID,
      result: 'succeeded',
      colour: 'green',
      previous: { colour: 'blue', version: '1.0.0' },
      detail: expect.stringMatching(/^live, but switching traffic to green: /),
    });
  });

  it('production: a worker lost between setting the idle colour and the switch carries on, applying nothing twice', async () => {
    await w.requests.create(deployRequest(blueGreenDeploy));
    // The API server goes away just as the switch is sent: the job is retried.
    w.cluster.failNext('switchColour', new KubeError('unavailable', 'connect ECONNREFUSED'));
    await expect(run()).rejects.toThrow('connect ECONNREFUSED');
    expect(w.cluster.activeOf('production', 'payment')).toBe('blue');
    expect(await w.locks.holder('production', 'payment')).toBe(ID);

    expect(await run()).toBe('succeeded');
    expect(w.cluster.activeOf('production', 'payment')).toBe('green');
    // The image went on once and the second setImage found it there; one release recorded.
    expect(w.cluster.workload('production', 'azora-payment-green').history.map((r) => r.image)).toEqual([
      image('payment', '1.0.0'),
      image('payment', '1.6.0'),
    ]);
    expect(await history('production', 'payment')).toHaveLength(1);

    // And once switched, a third run (a duplicate job) sees it live and changes nothing.
    await w.requests.update(ID, (current) => ({ next: { ...current, status: 'running' }, value: null }));
    const before = w.cluster.changes().length;
    expect(await run()).toBe('succeeded');
    expect(w.cluster.changes()).toHaveLength(before);
    expect((await stored()).outcome?.at(-1)).toBe(
      'payment: 1.6.0 already live on green (a retried job) · /api/pay/health healthy',
    );
  });

  it('production: a retry that finds the switch made by a lost attempt indexes its release, once', async () => {
    const earlier = {
      id: 'r0000a0a0',
      action: 'deploy' as const,
      version: '1.0.0',
      image: image('payment', '1.0.0'),
      colour: 'blue' as const,
      requester: ENGINEER,
      start: NOW - 900_000,
      end: NOW - 800_000,
      result: 'succeeded' as const,
    };
    await w.releases.fill('production', 'payment', [earlier], 20);
    await w.requests.create(deployRequest(blueGreenDeploy));
    // The first attempt got as far as the switch's patch (selector and record), then was lost.
    await w.cluster.setImage('production', 'payment', 'azora-payment-green', image('payment', '1.6.0'));
    await w.cluster.switchColour('production', 'payment', 'green', 30_000, {
      id: ID,
      action: 'deploy',
      version: '1.6.0',
      image: image('payment', '1.6.0'),
      colour: 'green',
      previous: { colour: 'blue', version: '1.0.0', image: image('payment', '1.0.0') },
      requester: ENGINEER,
      approver: APPROVER,
      start: NOW,
      end: NOW,
      result: 'succeeded',
    });
    await w.requests.update(ID, (c) => ({ next: { ...c, status: 'running', startedAt: NOW }, value: null }));
    expect(await run()).toBe('succeeded');
    expect((await w.releases.history('production', 'payment'))!.map((r) => r.id)).toEqual([earlier.id, ID]);
  });

  it('production: refuses as stale when someone else changed the idle colour since the plan', async () => {
    w.cluster.rollout('production', 'azora-payment-green', image('payment', '1.5.9'));
    await w.requests.create(deployRequest(blueGreenDeploy));

    expect(await run()).toBe('stale');
    expect(w.cluster.changes()).toEqual([]);
    expect((await stored()).error).toContain(`runs ${image('payment', '1.5.9')} now`);
  });
});

describe('executeRequest: the backup before a production deploy', () => {
  let w: FakeWorld;
  const image = (version: string) => `registry.azora.world/azora/payment:${version}`;
  const plan: PlanStep[] = [
    { kind: 'backup', service: 'production' },
    {
      kind: 'deploy',
      service: 'payment',
      deployment: 'azora-payment-green',
      fromImage: image('1.0.0'),
      toImage: image('1.6.0'),
      blueGreen: {
        serviceName: 'azora-payment',
        live: 'blue',
        liveImage: image('1.0.0'),
        idle: 'green',
        replicas: 3,
      },
    },
  ];

  beforeEach(() => {
    w = fakeWorld(structuredClone(POLICY), { now: NOW });
    releasedInStaging(w, image('1.6.0'));
  });

  it('runs first, and a failed backup leaves the idle colour untouched', async () => {
    w.cluster.jobOutcome('backup', {
      status: 'failed',
      reason: 'BackoffLimitExceeded: Job has reached the specified backoff limit',
      log: 'azora-backup: failed pg_dump: connection to server failed',
    });
    await w.requests.create(
      approved(plan, { verb: 'deploy', services: ['payment'], args: { version: '1.6.0' } }),
    );

    expect(await executeRequest(w.deps, ID, { finalAttempt: false })).toBe('failed');

    const request = (await w.requests.get(ID))!;
    expect(request.error).toMatch(
      /^the backup before the deploy failed \(azora-backup-production-\d{8}-\d{4}-[0-9a-f]{4}\): pg_dump: connection to server failed; nothing else was touched$/,
    );
    expect(w.cluster.changes().map((c) => c.method)).toEqual(['createJob']);
    expect(w.cluster.activeOf('production', 'payment')).toBe('blue');
    // The database was locked with the services, and both are free again.
    expect(await w.locks.holder('production', 'database')).toBeNull();
  });

  it('then deploys once the backup succeeded, naming it in the thread', async () => {
    await w.requests.create(
      approved(plan, { verb: 'deploy', services: ['payment'], args: { version: '1.6.0' } }),
    );
    expect(await executeRequest(w.deps, ID, { finalAttempt: false })).toBe('succeeded');
    const request = (await w.requests.get(ID))!;
    expect(request.outcome?.[0]).toMatch(
      /^database: backed up as azora-backup-production-\d{8}-\d{4}-[0-9a-f]{4} \(/,
    );
    expect(w.cluster.activeOf('production', 'payment')).toBe('green');
  });
});

describe('expiring a request nobody decided', () => {
  let w: FakeWorld;
  const expire = () =>
    expireRequestProcessor.run({ requestId: ID }, {
      ...w.deps,
      job: { id: `expire-${ID}`, attemptsMade: 0, attemptsStarted: 1, attempts: 3 },
    } as Parameters<typeof expireRequestProcessor.run>[1]);

  beforeEach(() => {
    w = fakeWorld(structuredClone(POLICY), { now: NOW });
  });

  it('makes its edits again on a retry after one failed, and audits the expiry once', async () => {
    const { approvedBy: _none, ...waiting } = approved([scaleStep(3, 5)], { status: 'pending-approval' });
    await w.requests.create(waiting);
    w.messenger.failNext('update', new Error('An API error occurred: internal_error'));

    await expect(expire()).rejects.toThrow('internal_error');
    await expect(expire()).resolves.toEqual({ expired: true });

    expect((await w.requests.get(ID))?.status).toBe('expired');
    expect(w.audit.typesOf(ID)).toEqual(['expired']);
    // The parent and the progress reply both say so: neither keeps waiting for approval.
    const last = (ts: string) => JSON.stringify(w.messenger.updatesOf(ts).at(-1));
    expect(last('1700000000.000100')).not.toContain('azora:approve');
    expect(last('1700000000.000200')).toMatch(/expired/);
  });
});

describe('executeRequest: an automatic switch back', () => {
  let w: FakeWorld;

  beforeEach(() => {
    w = fakeWorld(structuredClone(POLICY), { now: NOW });
  });

  it('retried after its switch was made, finds the service back and succeeds rather than refusing', async () => {
    // payment serves blue: the first attempt switched it back from green, then failed.
    expect(w.cluster.activeOf('production', 'payment')).toBe('blue');
    const { approvedBy: _none, ...request } = approved(
      [{ kind: 'switch', service: 'payment', serviceName: 'azora-payment', from: 'green', to: 'blue' }],
      {
        verb: 'switch',
        source: 'auto-switch-back',
        status: 'running',
        args: { autoSwitchBack: { release: 'r0000a001', alert: 'AzoraHighErrorRate' } },
      },
    );
    await w.requests.create(request);

    expect(await executeRequest(w.deps, ID, { finalAttempt: false })).toBe('succeeded');

    expect(w.cluster.activeOf('production', 'payment')).toBe('blue');
    expect((await w.requests.get(ID))?.status).toBe('succeeded');
  });
});
