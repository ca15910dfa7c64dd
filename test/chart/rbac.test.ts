import { KubeError } from '../../src/adapters/kubernetes/errors';
import type { Kubernetes } from '../../src/adapters/kubernetes/kubernetes';
import type { PolicyRule } from '../../src/sandbox/cluster/rbac';
import { parseRoute, requestAttributes } from '../../src/sandbox/cluster/routes';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import { defaultValues, rbacRules, readChartFile, type RoleRule } from './chart';
import { STG } from '../kit/ids';

/**
 * Least privilege, proved on the simulated API server: the worker's identity gets exactly
 * the Role of the chart (files/rbac-rules.yaml in each of rbac.namespaces), runs every
 * cluster operation the bot has through the real adapter, and each of them succeeds; then
 * each verb of each rule is taken away in turn and an operation that needs it is refused
 * with a 403. A rule nobody needs, or an operation that needs more, fails here.
 */

const TOKEN = 'azora-chatops-worker-token';
const USER = 'system:serviceaccount:azora-chatops:azora-chatops';

const namespaces = () => (defaultValues().rbac as { namespaces: string[] }).namespaces;

/** The Role's rules as the simulated cluster applies them: one RoleBinding per namespace. */
const bound = (rules: RoleRule[]): PolicyRule[] => rules.map((r) => ({ ...r, namespaces: namespaces() }));

async function clusterWith(rules: RoleRule[]): Promise<TestCluster> {
  // A start can fail about once in 256: src/sandbox/cluster/tls.ts may draw a certificate
  // serial whose DER encoding OpenSSL rejects ("illegal padding"). This file starts 17
  // clusters, so it tries again rather than fail for the simulator's certificate.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTestCluster({
        identities: { [TOKEN]: { name: USER, rules: bound(rules) } },
        token: TOKEN,
        logIntervalMs: 20,
      });
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
}

/** `apps deployments/scale patch`: one verb on one resource, the unit the proof works in. */
type Grant = string;
const grant = (group: string, resource: string, verb: string): Grant =>
  `${group === '' ? 'core' : group} ${resource} ${verb}`;

const grantsOf = (rules: RoleRule[]): Grant[] =>
  rules.flatMap((r) =>
    r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => grant(g, res, v)))),
  );

/** Removes one verb on one resource from the rules, dropping what becomes empty. */
function without(rules: RoleRule[], dropped: Grant): RoleRule[] {
  return rules.flatMap((rule) => {
    const split = rule.apiGroups.flatMap((g) =>
      rule.resources.map((res) => ({
        ...rule,
        apiGroups: [g],
        resources: [res],
        verbs: rule.verbs.filter((v) => grant(g, res, v) !== dropped),
      })),
    );
    return split.filter((r) => r.verbs.length > 0);
  });
}

/** A rollback of a rolling service: planned (pinned), then applied. */
async function rollbackRevision(kube: Kubernetes) {
  const target = await kube.planRollback('staging', 'payment');
  return kube.applyRollback('staging', 'payment', target);
}

async function followFor(kube: Kubernetes, ms: number): Promise<number> {
  let lines = 0;
  await kube.followLogs('staging', 'auth', { durationMs: ms }, () => lines++);
  return lines;
}

/** Each verb the Role grants, and a bot operation that cannot work without it. */
const NEEDED_BY: Record<Grant, { operation: string; run: (kube: Kubernetes) => Promise<unknown> }> = {
  'apps deployments get': { operation: '/azora status staging', run: (k) => k.status('staging') },
  'apps deployments patch': { operation: '/azora rollback staging payment', run: rollbackRevision },
  'apps deployments/scale patch': {
    operation: '/azora scale staging auth 3 (no HPA)',
    run: (k) => k.scale('staging', 'auth', 3),
  },
  'apps replicasets list': {
    operation: 'planning /azora rollback staging payment',
    run: (k) => k.planRollback('staging', 'payment'),
  },
  'apps replicasets get': { operation: 'applying /azora rollback staging payment', run: rollbackRevision },
  'apps statefulsets get': { operation: '/azora status staging', run: (k) => k.status('staging') },
  'apps statefulsets/scale get': {
    operation: '/azora scale production postgres-replica 3',
    run: (k) => k.scale('production', 'postgres-replica', 3),
  },
  'apps statefulsets/scale patch': {
    operation: '/azora scale production postgres-replica 3',
    run: (k) => k.scale('production', 'postgres-replica', 3),
  },
  'autoscaling horizontalpodautoscalers list': {
    operation: '/azora status staging',
    run: (k) => k.status('staging'),
  },
  'autoscaling horizontalpodautoscalers patch': {
    operation: '/azora scale production api-gateway 5 (HPA bounds)',
    run: (k) => k.scale('production', 'api-gateway', 5),
  },
  'core services get': { operation: '/azora status production', run: (k) => k.status('production') },
  'core services patch': {
    operation: '/azora switch production green payment',
    run: (k) => k.switchColour('production', 'payment', 'green', 5_000),
  },
  'core endpoints get': {
    operation: '/azora switch production green payment (endpoints follow)',
    run: (k) => k.switchColour('production', 'payment', 'green', 5_000),
  },
  'core pods list': {
    operation: '/azora logs production payment',
    run: (k) => k.logs('production', 'payment', { lines: 20 }),
  },
  'core pods/log get': {
    operation: '/azora logs production payment',
    run: (k) => k.logs('production', 'payment', { lines: 20 }),
  },
  'core services/proxy get': {
    operation: 'the health check of payment after a change',
    run: async (k) => {
      // health() reports rather than throws: a failed check is a result the thread shows.
      const result = await k.health('production', 'payment');
      if (!result.ok) throw new KubeError('forbidden', result.detail, 403);
      return result;
    },
  },
};

describe('the chart Role (files/rbac-rules.yaml)', () => {
  it('is plain least-privilege RBAC: no wildcards, no names, no cluster scope, nothing that creates, deletes or reads secrets', () => {
    const rules = rbacRules();
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(Object.keys(rule).sort()).toEqual(['apiGroups', 'resources', 'verbs']);
      for (const value of [...rule.apiGroups, ...rule.resources, ...rule.verbs])
        expect(value).not.toContain('*');
      for (const verb of rule.verbs) expect(['get', 'list', 'patch']).toContain(verb);
      expect(rule.resources).not.toContain('secrets');
    }
    const template = readChartFile('templates', 'rbac.yaml');
    expect(template).toMatch(/\.Files\.Get "files\/rbac-rules\.yaml" \| fromYaml/);
    expect(template).toMatch(/range \$namespace := \.Values\.rbac\.namespaces/);
    expect(template).not.toMatch(/Cluster(Role|RoleBinding)/);
  });

  it('has a proof for every verb it grants, and grants every verb the proofs use', () => {
    expect(grantsOf(rbacRules()).sort()).toEqual(Object.keys(NEEDED_BY).sort());
  });

  it('lets the bot do everything it does, and every grant is used (both environments)', async () => {
    const t = await clusterWith(rbacRules());
    try {
      const kube = t.kube;
      for (const env of ['staging', 'production'] as const) {
        const services = await kube.status(env);
        expect(services.map((s) => s.service).sort()).toEqual(Object.keys(t.policy.services).sort());
      }

      const noHpa = await kube.scale('staging', 'auth', 3);
      expect(noHpa.hpa).toBeUndefined();
      await kube.waitForScale('staging', 'auth', 'azora-auth', 3, 5_000);

      const withHpa = await kube.scale('production', 'api-gateway', 5);
      expect(withHpa.hpa?.after).toEqual({ min: 5, max: 10 });
      await kube.waitForScale('production', 'api-gateway', withHpa.target, 5, 5_000);

      expect(await kube.scale('production', 'postgres-replica', 3)).toMatchObject({ kind: 'statefulset' });

      expect(await kube.switchColour('production', 'payment', 'green', 5_000)).toMatchObject({
        changed: true,
        to: 'green',
      });
      expect(await kube.health('production', 'payment')).toMatchObject({ ok: true, path: '/api/pay/health' });

      const revision = await kube.planRollback('staging', 'payment');
      expect(revision.kind).toBe('revision');
      expect(await kube.applyRollback('staging', 'payment', revision)).toEqual({ changed: true });
      await kube.waitForRollout('staging', STG, 'azora-payment', 5_000);

      const colour = await kube.planRollback('production', 'education');
      expect(colour).toMatchObject({ kind: 'colour', to: 'green' });
      expect(await kube.applyRollback('production', 'education', colour)).toEqual({ changed: true });

      expect((await kube.logs('production', 'payment', { lines: 20 })).lines.length).toBeGreaterThan(0);
      expect(await followFor(kube, 300)).toBeGreaterThan(0);

      // What the bot asked the API server for, in RBAC terms: all allowed, and all of the Role used.
      const mine = t.sim.requests.filter((r) => r.user === USER);
      expect(mine.filter((r) => r.status >= 400)).toEqual([]);
      const used = new Set<Grant>();
      for (const request of mine) {
        const url = new URL(request.url, 'http://sim');
        const route = parseRoute(url.pathname);
        if (route.type !== 'resource') continue;
        const attrs = requestAttributes(request.method, route.target, url.searchParams);
        const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
        expect(namespaces()).toContain(attrs.namespace);
        used.add(grant(attrs.apiGroup, resource, attrs.verb));
      }
      expect([...used].sort()).toEqual(grantsOf(rbacRules()).sort());
    } finally {
      await t.sim.stop();
    }
  });

  describe.each(grantsOf(rbacRules()).map((g) => [g]))('without %s', (dropped) => {
    const [group, resource, verb] = dropped.split(' ') as [string, string, string];
    const need = NEEDED_BY[dropped];
    if (!need) {
      it('is needed by some operation', () => {
        throw new Error(`no bot operation is known to need ${dropped}: drop it from files/rbac-rules.yaml`);
      });
      return;
    }

    it(`refuses ${need.operation} with 403`, async () => {
      const t = await clusterWith(without(rbacRules(), dropped));
      try {
        let failure: unknown;
        await need.run(t.kube).catch((err: unknown) => (failure = err));
        expect(failure).toBeInstanceOf(KubeError);
        const err = failure as KubeError;
        expect({ kind: err.kind, status: err.status }).toEqual({ kind: 'forbidden', status: 403 });
        const apiGroup = group === 'core' ? '' : group;
        expect(err.message).toContain(
          `User "${USER}" cannot ${verb} resource "${resource}" in API group "${apiGroup}"`,
        );
        if (dropped === 'core pods/log get') {
          // The follow stream needs the same grant as the tail.
          const follow = await followFor(t.kube, 100).catch((e: unknown) => e);
          expect(follow).toMatchObject({ kind: 'forbidden', status: 403 });
        }
      } finally {
        await t.sim.stop();
      }
    });
  });
});
