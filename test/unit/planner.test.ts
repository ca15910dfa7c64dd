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
const image = (app: string, version: string) => `registry.azora.example/${app}:${version}`;

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
      ).toBe('auth in staging is not deployed blue/green');
      expect(
        (
          await refusal(
            plan({ verb: 'switch', environment: 'production', colour: 'green', service: 'postgres-replica' }),
          )
        ).message,
      ).toBe('postgres-replica in production is not deployed blue/green');
      expect((await refusal(plan({ verb: 'switch', environment: 'staging', colour: 'green' }))).message).toBe(
        'staging has no service that switch applies to',
      );
    });
  });

  describe('rollback', () => {
    it('of a blue/green service plans a switch to the other colour', async () => {
      cluster.setActive('production', 'payment', 'green');
      expect(await plan({ verb: 'rollback', environment: 'production', service: 'payment' })).toEqual([
        { kind: 'switch', service: 'payment', serviceName: 'azora-payment', from: 'green', to: 'blue' },
      ]);
    });

    it('of a rolling service pins the previous revision, or the one asked for', async () => {
      cluster.rollout('staging', 'azora-auth', image('azora-auth', '1.1.0'));
      cluster.rollout('staging', 'azora-auth', image('azora-auth', '1.2.0'));

      expect(await plan({ verb: 'rollback', environment: 'staging', service: 'auth' })).toEqual([
        {
          kind: 'rollback',
          service: 'auth',
          deployment: 'azora-auth',
          replicaSet: 'azora-auth-2',
          fromRevision: 3,
          toRevision: 2,
          fromImage: image('azora-auth', '1.2.0'),
          toImage: image('azora-auth', '1.1.0'),
        },
      ]);
      expect(
        await plan({ verb: 'rollback', environment: 'staging', service: 'auth', toRevision: 1 }),
      ).toEqual([
        expect.objectContaining({
          replicaSet: 'azora-auth-1',
          toRevision: 1,
          toImage: image('azora-auth', '1.0.0'),
        }),
      ]);
      expect(cluster.changes()).toEqual([]);
    });

    it('of every service plans each by its kind', async () => {
      const steps = await plan({ verb: 'rollback', environment: 'production' });
      expect(steps.map((s) => [s.kind, s.service])).toEqual(BLUE_GREEN.map((s) => ['switch', s]));
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
