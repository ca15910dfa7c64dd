import { Refusal } from '../../src/kernel/domain/refusal';
import { KubeError } from '../../src/kernel/kubernetes/errors';
import { planChange, servicesOf, type ChangeCommand } from '../../src/requests/planner';
import { FakeCluster } from '../kit/fakes/cluster';
import { testPolicy } from '../kit/policy';

// planChange and servicesOf against an in-memory cluster seeded from the shipped policy:
// production is blue/green (every service on blue), staging rolling; deployments run at
// their minimum replicas (3 in production, 2 in staging).
const POLICY = testPolicy();
const BLUE_GREEN = ['api-gateway', 'auth', 'education', 'payment'];
const image = (service: string, version: string) => `registry.azora.world/azora/${service}:${version}`;

const scale = (environment: 'staging' | 'production', service: string, replicas: number): ChangeCommand => ({
  verb: 'scale',
  environment,
  service,
  replicas,
  force: false,
});

async function refusal(promise: Promise<unknown>): Promise<Refusal> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Refusal);
  expect((err as Refusal).kind).toBe('plan');
  return err as Refusal;
}

describe('servicesOf', () => {
  it('is the service named, or every service the verb applies to', () => {
    expect(servicesOf(POLICY, scale('production', 'auth', 4))).toEqual(['auth']);
    expect(servicesOf(POLICY, { verb: 'switch', environment: 'production', colour: 'green' })).toEqual(
      BLUE_GREEN,
    );
    expect(
      servicesOf(POLICY, { verb: 'switch', environment: 'production', colour: 'green', service: 'payment' }),
    ).toEqual(['payment']);
    // Nothing in staging is blue/green; the statefulset is never rolled back.
    expect(servicesOf(POLICY, { verb: 'switch', environment: 'staging', colour: 'green' })).toEqual([]);
    expect(servicesOf(POLICY, { verb: 'rollback', environment: 'staging' })).toEqual(BLUE_GREEN);
    expect(servicesOf(POLICY, { verb: 'rollback', environment: 'production' })).toEqual(BLUE_GREEN);
  });

  it('is the services asked for when a runbook names them', () => {
    expect(servicesOf(POLICY, { verb: 'rollback', environment: 'production' }, ['auth'])).toEqual(['auth']);
  });

  it('is none for maintenance, which acts on the environment', () => {
    expect(
      servicesOf(POLICY, {
        verb: 'maintenance',
        action: 'now',
        environment: 'production',
        durationMs: 3_600_000,
        reason: 'failover',
      }),
    ).toEqual([]);
  });
});

describe('planChange', () => {
  let cluster: FakeCluster;
  const plan = (command: ChangeCommand, only?: string[]) => planChange(cluster, POLICY, command, only);

  beforeEach(() => {
    cluster = new FakeCluster(POLICY);
  });

  describe('scale', () => {
    it('pins the live deployment and its replicas now', async () => {
      expect(await plan(scale('staging', 'auth', 4))).toEqual([
        { kind: 'scale', service: 'auth', target: 'azora-auth', from: 2, to: 4 },
      ]);
      cluster.setActive('production', 'auth', 'green');
      expect(await plan(scale('production', 'auth', 5))).toEqual([
        { kind: 'scale', service: 'auth', target: 'azora-auth-green', from: 3, to: 5 },
      ]);
      expect(await plan(scale('production', 'postgres-replica', 3))).toEqual([
        { kind: 'scale', service: 'postgres-replica', target: 'postgres-replica', from: 2, to: 3 },
      ]);
      expect(cluster.changes()).toEqual([]);
    });

    it('carries the HPA that owns the replicas', async () => {
      cluster.addHpa('production', {
        name: 'azora-api-gateway-blue',
        target: 'azora-api-gateway-blue',
        min: 3,
        max: 6,
      });
      expect(await plan(scale('production', 'api-gateway', 8))).toEqual([
        {
          kind: 'scale',
          service: 'api-gateway',
          target: 'azora-api-gateway-blue',
          from: 3,
          to: 8,
          hpa: { name: 'azora-api-gateway-blue', min: 3, max: 6 },
        },
      ]);
    });

    it.each([
      [
        'production',
        11,
        'api-gateway in production must run between 3 and 10 replicas (policy); 11 is outside',
      ],
      [
        'production',
        2,
        'api-gateway in production must run between 3 and 10 replicas (policy); 2 is outside',
      ],
      ['staging', 7, 'api-gateway in staging must run between 2 and 6 replicas (policy); 7 is outside'],
    ] as const)('refuses outside the bounds of %s: %d', async (env, replicas, reason) => {
      expect((await refusal(plan(scale(env, 'api-gateway', replicas)))).message).toBe(reason);
      // Refused from the policy alone: the cluster was not asked.
      expect(cluster.calls).toEqual([]);
    });

    it('refuses a scale to the replicas it runs already', async () => {
      expect((await refusal(plan(scale('staging', 'auth', 2)))).message).toBe(
        'auth in staging already runs 2 replicas',
      );
    });
  });

  describe('switch', () => {
    it('plans every blue/green service, skipping those already on the colour', async () => {
      cluster.setActive('production', 'payment', 'green');
      expect(await plan({ verb: 'switch', environment: 'production', colour: 'green' })).toEqual(
        ['api-gateway', 'auth', 'education'].map((service) => ({
          kind: 'switch',
          service,
          serviceName: `azora-${service}`,
          from: 'blue',
          to: 'green',
          fromImage: image(service, '1.0.0'),
          toImage: image(service, '1.0.0'),
        })),
      );
    });

    it('sends each service to its own colour for a switch back', async () => {
      cluster.setActive('production', 'payment', 'green');
      const steps = await planChange(
        cluster,
        POLICY,
        { verb: 'switch', environment: 'production', colour: 'green' },
        ['auth', 'payment'],
        { auth: 'green', payment: 'blue' },
      );
      expect(steps.map((s) => (s.kind === 'switch' ? `${s.service} ${s.from}→${s.to}` : s.kind))).toEqual([
        'auth blue→green',
        'payment green→blue',
      ]);
    });

    it('refuses when every service serves the colour already', async () => {
      for (const service of BLUE_GREEN) cluster.setActive('production', service, 'green');
      expect(
        (await refusal(plan({ verb: 'switch', environment: 'production', colour: 'green' }))).message,
      ).toBe('api-gateway, auth, education, payment already serve green in production');
    });

    it('refuses a service that is not blue/green, and an environment with none', async () => {
      expect(
        (await refusal(plan({ verb: 'switch', environment: 'staging', colour: 'green', service: 'auth' })))
          .message,
      ).toBe('auth in staging is not deployed blue/green: switch moves traffic between colours');
      expect(
        (
          await refusal(
            plan({ verb: 'switch', environment: 'production', colour: 'green', service: 'postgres-replica' }),
          )
        ).message,
      ).toBe(
        'postgres-replica in production is not deployed blue/green: switch moves traffic between colours',
      );
      expect((await refusal(plan({ verb: 'switch', environment: 'staging', colour: 'green' }))).message).toBe(
        'staging has no service that switch applies to',
      );
    });
  });

  describe('rollback', () => {
    /** payment: green ran 1.4.1 live, then blue took over with 1.5.0; green still holds 1.4.1. */
    const story = async () => {
      cluster.rollout('production', 'azora-payment-green', image('payment', '1.4.1'));
      cluster.rollout('production', 'azora-payment-blue', image('payment', '1.5.0'));
      const at = Date.UTC(2026, 10, 20);
      await cluster.recordRelease('production', 'payment', {
        id: 'r00000001',
        action: 'deploy',
        version: '1.5.0',
        image: image('payment', '1.5.0'),
        colour: 'blue',
        previous: { colour: 'green', version: '1.4.1', image: image('payment', '1.4.1') },
        requester: 'U0ENGINEER',
        approver: 'U0APPROVER1',
        start: at,
        end: at + 60_000,
        result: 'succeeded',
      });
    };
    const rollbackPayment = () => plan({ verb: 'rollback', environment: 'production', service: 'payment' });

    it('of a blue/green service goes back to the colour live before, showing both versions', async () => {
      await story();
      expect(await rollbackPayment()).toEqual([
        {
          kind: 'switch',
          service: 'payment',
          serviceName: 'azora-payment',
          from: 'blue',
          to: 'green',
          fromImage: image('payment', '1.5.0'),
          toImage: image('payment', '1.4.1'),
        },
      ]);
    });

    it('of a blue/green service refuses a version never live, naming the switch that would do it', async () => {
      await story();
      cluster.rollout('production', 'azora-payment-green', image('payment', '1.5.1'));
      const before = cluster.changes().length;
      expect((await refusal(rollbackPayment())).message).toBe(
        'payment: not rolling back, green holds 1.5.1, which was never live. ' +
          'To send its traffic to green anyway: `/azora switch production green payment`.',
      );
      expect(cluster.changes()).toHaveLength(before);
    });

    it('of a blue/green service refuses when nothing is recorded, instead of guessing', async () => {
      expect((await refusal(rollbackPayment())).message).toBe(
        'payment: not rolling back, nothing is recorded about what was live before blue. ' +
          'To send its traffic to green anyway: `/azora switch production green payment`.',
      );
    });

    it('of a rolling service pins the previous revision, or the one asked for', async () => {
      cluster.rollout('staging', 'azora-auth', image('auth', '1.1.0'));
      cluster.rollout('staging', 'azora-auth', image('auth', '1.2.0'));

      expect(await plan({ verb: 'rollback', environment: 'staging', service: 'auth' })).toEqual([
        {
          kind: 'rollback',
          service: 'auth',
          deployment: 'azora-auth',
          replicaSet: 'azora-auth-2',
          fromRevision: 3,
          toRevision: 2,
          fromImage: image('auth', '1.2.0'),
          toImage: image('auth', '1.1.0'),
        },
      ]);
      expect(
        await plan({ verb: 'rollback', environment: 'staging', service: 'auth', toRevision: 1 }),
      ).toEqual([
        expect.objectContaining({
          replicaSet: 'azora-auth-1',
          toRevision: 1,
          toImage: image('auth', '1.0.0'),
        }),
      ]);
      expect(cluster.changes()).toEqual([]);
    });

    it('of every service refuses all of it when one service cannot know, naming each', async () => {
      await story();
      const refused = await refusal(plan({ verb: 'rollback', environment: 'production' }));
      for (const service of ['api-gateway', 'auth', 'education'])
        expect(refused.message).toContain(`${service}: not rolling back, nothing is recorded`);
      expect(refused.message).not.toContain('payment:');
      expect(refused.message).toContain('Nothing was planned; roll back the other services one by one.');
    });

    it('passes the cluster’s precondition through as a KubeError', async () => {
      const err = await plan({ verb: 'rollback', environment: 'staging', service: 'auth' }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(KubeError);
      expect(err).toMatchObject({
        kind: 'precondition',
        message: 'deployment azora-auth has no earlier revision to roll back to',
      });
    });
  });

  it('plans maintenance as one step on the environment, without the cluster', async () => {
    expect(
      await plan({
        verb: 'maintenance',
        action: 'schedule',
        environment: 'production',
        start: Date.UTC(2026, 11, 6, 2, 0),
        durationMs: 7_200_000,
        reason: 'PostgreSQL 15.9 upgrade',
      }),
    ).toEqual([
      {
        kind: 'maintenance',
        service: 'production',
        durationMs: 7_200_000,
        reason: 'PostgreSQL 15.9 upgrade',
        action: 'schedule',
        start: Date.UTC(2026, 11, 6, 2, 0),
      },
    ]);
    expect(cluster.calls).toEqual([]);
  });
});

describe('planChange: deploy', () => {
  let cluster: FakeCluster;
  const deploy = (environment: 'staging' | 'production', version: string, force = false) =>
    ({ verb: 'deploy', environment, service: 'payment', version, force }) as const;
  const plan = (command: ChangeCommand, forceCounts = false) =>
    planChange(cluster, POLICY, command, undefined, undefined, forceCounts);
  const releasedToStaging = (version: string) =>
    cluster.recordRelease('staging', 'payment', {
      id: 'r00000009',
      action: 'deploy',
      version,
      image: image('payment', version),
      requester: 'U0ENGINEER',
      start: Date.UTC(2026, 10, 30),
      end: Date.UTC(2026, 10, 30, 0, 5),
      result: 'succeeded',
    });

  beforeEach(() => {
    cluster = new FakeCluster(POLICY);
  });

  it('in staging, sets the image from the policy repository on the rolling deployment', async () => {
    expect(await plan(deploy('staging', '1.6.0'))).toEqual([
      {
        kind: 'deploy',
        service: 'payment',
        deployment: 'azora-payment',
        fromImage: image('payment', '1.0.0'),
        toImage: image('payment', '1.6.0'),
      },
    ]);
  });

  it('in production, prepares the idle colour at the live colour’s replicas, once released to staging', async () => {
    await releasedToStaging('1.6.0');
    cluster.setActive('production', 'payment', 'green');
    cluster.setReplicas('production', 'azora-payment-green', 5);
    expect(await plan(deploy('production', '1.6.0'))).toEqual([
      // The guide's pre-deployment backup comes first (releases.backupFirst).
      { kind: 'backup', service: 'production' },
      {
        kind: 'deploy',
        service: 'payment',
        deployment: 'azora-payment-blue',
        fromImage: image('payment', '1.0.0'),
        toImage: image('payment', '1.6.0'),
        blueGreen: {
          serviceName: 'azora-payment',
          live: 'green',
          liveImage: image('payment', '1.0.0'),
          idle: 'blue',
          replicas: 5,
        },
      },
    ]);
  });

  it('refuses a version never released to staging, unless an approver forces it', async () => {
    await releasedToStaging('1.5.0');
    expect((await refusal(plan(deploy('production', '1.6.0')))).message).toBe(
      '1.6.0 was never released to staging: deploy it there first (`/azora deploy staging payment 1.6.0`); an approver can add `force` to deploy it anyway',
    );
    expect((await refusal(plan(deploy('production', '1.6.0', true)))).message).toContain(
      '`force` counts only when an approver asks for it',
    );
    const [, forced] = await plan(deploy('production', '1.6.0', true), true);
    expect(forced).toMatchObject({ kind: 'deploy', forced: true, toImage: image('payment', '1.6.0') });
  });

  it('lets the policy turn the promotion rule off per service', async () => {
    const policy = structuredClone(POLICY);
    policy.services['payment']!.stagingFirst = false;
    const steps = await planChange(new FakeCluster(policy), policy, deploy('production', '1.6.0'));
    expect(steps).toMatchObject([{ kind: 'backup' }, { kind: 'deploy', toImage: image('payment', '1.6.0') }]);
  });

  it.each([
    [
      'evil.example/azora/payment:1.6.0',
      'images come from registry.azora.world/azora/payment only (the policy), not from evil.example/azora/payment',
    ],
    [
      '1.6.0;reboot',
      "'1.6.0;reboot' is not a version: a tag (letters, digits, . _ -; up to 128) or a digest sha256:<64 hex>",
    ],
  ])('refuses %s before reading the cluster', async (version, reason) => {
    expect((await refusal(plan(deploy('staging', version)))).message).toBe(reason);
    expect(cluster.calls).toEqual([]);
  });

  it('refuses what is already there, and a service the policy gives no image', async () => {
    expect((await refusal(plan(deploy('staging', '1.0.0')))).message).toBe(
      'payment in staging already runs 1.0.0',
    );
    expect(
      (
        await refusal(
          plan({
            verb: 'deploy',
            environment: 'staging',
            service: 'postgres-replica',
            version: '16',
            force: false,
          }),
        )
      ).message,
    ).toBe(
      'postgres-replica has no image repository in the policy (services.postgres-replica.image): the bot does not deploy it',
    );
  });
});
