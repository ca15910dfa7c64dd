import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { databaseJob, databaseJobName, parseScriptReport } from '../../src/backups/domain/job';
import type { ReleaseRecord } from '../../src/kernel/domain/release';
import { KubeError } from '../../src/kernel/kubernetes/errors';
import type { Kubernetes } from '../../src/kernel/kubernetes/kubernetes';
import { loadPolicy, parsePolicy, type EnvironmentName } from '../../src/config/policy';
import { workloadsOf } from '../../src/kernel/domain/topology';
import type { PolicyRule } from '../../sandbox/cluster/rbac';
import { parseRoute, requestAttributes } from '../../sandbox/cluster/routes';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import { PROD, STG } from '../kit/ids';
import { testPolicy } from '../kit/policy';
import {
  chartPath,
  defaultValues,
  policyWithBackups,
  rbacFileRules,
  readChartFile,
  readChartYaml,
  renderedRoles,
  type RoleRule,
} from './chart';

/**
 * Least privilege, proved on the simulated API server: the worker's identity gets exactly
 * the Roles the chart renders (templates/rbac.yaml, one per rbac.namespaces, with the
 * resourceNames the policy gives each), runs every cluster operation the bot has through
 * the real adapter, and each of them succeeds; writes to objects the policy does not name
 * are refused; then each verb of each rule is taken away in turn and an operation that
 * needs it is refused with a 403. A rule nobody needs, a name the bot does not use, or an
 * operation that needs more, fails here.
 */

const TOKEN = 'azora-chatops-worker-token';
const REPO = 'registry.azora.world/azora';
const USER = 'system:serviceaccount:azora-chatops:azora-chatops';

const namespaces = () => (defaultValues().rbac as { namespaces: string[] }).namespaces;

/** The chart's Roles with the default values, by namespace, as `helm template` renders them. */
const ROLES = renderedRoles();

type Roles = Record<string, RoleRule[]>;

/** The Roles as the simulated cluster applies them: each rule where its RoleBinding is. */
const bound = (roles: Roles): PolicyRule[] =>
  Object.entries(roles).flatMap(([namespace, rules]) =>
    rules.map((r) => ({ ...r, namespaces: [namespace] })),
  );

async function clusterWith(roles: Roles): Promise<TestCluster> {
  // A start can fail about once in 256: sandbox/cluster/tls.ts may draw a certificate
  // serial whose DER encoding OpenSSL rejects ("illegal padding"). This file starts many
  // clusters, so it tries again rather than fail for the simulator's certificate.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTestCluster({
        identities: { [TOKEN]: { name: USER, rules: bound(roles) } },
        token: TOKEN,
        logIntervalMs: 20,
        jobRunMs: 50,
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

const grantsOfRules = (rules: RoleRule[]): Grant[] =>
  rules.flatMap((r) =>
    r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => grant(g, res, v)))),
  );

/** What any of the Roles grants, whatever the namespace. */
const grantsOf = (roles: Roles): Grant[] => [...new Set(Object.values(roles).flatMap(grantsOfRules))].sort();

/** Removes one verb on one resource from every Role, dropping the rules that become empty. */
function without(roles: Roles, dropped: Grant): Roles {
  const strip = (rules: RoleRule[]) =>
    rules.flatMap((rule) => {
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
  return Object.fromEntries(Object.entries(roles).map(([ns, rules]) => [ns, strip(rules)]));
}

/** A rollback of a rolling service: planned (pinned), then applied. */
async function rollbackRevision(kube: Kubernetes) {
  const target = await kube.planRollback('staging', 'payment');
  return kube.applyRollback('staging', 'payment', target);
}

const POLICY = testPolicy();

/** A backup Job of the bot's in `env`, from the policy's template (src/backups/domain/job.ts), named afresh. */
function backupJob(env: EnvironmentName = 'staging') {
  const backupId = databaseJobName('backup', env, Date.now(), randomBytes(2).toString('hex'));
  return databaseJob({
    kind: 'backup',
    name: backupId,
    environment: env,
    namespace: POLICY.environments[env]!.namespace,
    template: POLICY.backups[env]!,
    backupId,
    request: 'r-rbac',
  });
}

/** A backup Job created, then waited for until it ends (polling its status), its log read. */
async function backupRun(kube: Kubernetes, env: EnvironmentName = 'staging') {
  const job = backupJob(env);
  expect(await kube.createJob(env, job)).toEqual({ created: true });
  return { job, outcome: await kube.waitForJob(env, job.metadata.name, 10_000) };
}

async function followFor(kube: Kubernetes, ms: number): Promise<number> {
  let lines = 0;
  await kube.followLogs('staging', 'auth', { durationMs: ms }, () => lines++);
  return lines;
}

/** Each verb the Roles grant, and a bot operation that cannot work without it. */
const NEEDED_BY: Record<Grant, { operation: string; run: (kube: Kubernetes) => Promise<unknown> }> = {
  'apps deployments get': { operation: '/azora status staging', run: (k) => k.status('staging') },
  'apps deployments patch': {
    operation: '/azora deploy production payment (set image on the idle colour)',
    run: (k) => k.setImage('production', 'payment', 'azora-payment-green', `${REPO}/payment:v1.6.0`),
  },
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
  'core pods/proxy get': {
    operation: "a deploy's check of each pod of the idle colour",
    run: async (k) => {
      // probePods reports each pod's answer rather than throw: the API server's 403 is one.
      const answers = await k.probePods('production', 'payment', 'azora-payment-green', '/api/pay/health');
      const refused = answers.find((a) => a.status === 403);
      if (refused) throw new KubeError('forbidden', refused.detail, 403);
      return answers;
    },
  },
  'batch jobs create': {
    operation: '/azora backup staging (its Job)',
    run: (k) => k.createJob('staging', backupJob()),
  },
  'batch jobs get': { operation: 'waiting for a backup Job to finish', run: (k) => backupRun(k) },
  'batch jobs list': {
    operation: "/azora backups staging (the bot's Jobs by label)",
    run: (k) => k.listJobs('staging', 'backup'),
  },
  'batch jobs delete': {
    operation: 'deleting a backup past the policy keep',
    run: async (k) => k.deleteJob('staging', (await backupRun(k)).job.metadata.name),
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

/**
 * The objects each named grant acts on in one environment, from the bot's own topology
 * (src/kernel/domain/topology.ts) and what src/kernel/kubernetes/kubernetes.ts does with it: the
 * chart's names must be these, worked out independently of the template.
 */
function namesTheBotUses(env: EnvironmentName, policy = loadPolicy(chartPath('files', 'policy.yaml'))) {
  const workloads = workloadsOf(policy, env);
  const deployments = workloads.flatMap((w) =>
    w.kind === 'deployment' ? [w.deployment] : w.kind === 'blue-green' ? Object.values(w.deployments) : [],
  );
  const statefulsets = workloads.flatMap((w) => (w.kind === 'statefulset' ? [w.statefulset] : []));
  const switched = workloads.flatMap((w) => (w.kind === 'blue-green' ? [w.serviceName] : []));
  const byGrant: Record<Grant, string[]> = {
    'apps deployments get': deployments, // status, readiness, rollout waits
    // set image on either colour or a rolling deployment; revision rollback and release history of rolling ones
    'apps deployments patch': deployments,
    'apps deployments/scale patch': deployments, // scale without an HPA
    'apps statefulsets get': statefulsets,
    'apps statefulsets/scale get': statefulsets,
    'apps statefulsets/scale patch': statefulsets,
    // The HPA the bot moves is the one whose scaleTargetRef is the deployment; the chart
    // can only name it by the convention that it is named after that deployment.
    'autoscaling horizontalpodautoscalers patch': deployments,
    'core services get': switched, // the live colour
    'core services patch': switched, // the switch
    'core endpoints get': switched, // the switch's endpoints wait
  };
  return Object.fromEntries(
    Object.entries(byGrant)
      .filter(([, names]) => names.length > 0)
      .map(([g, names]) => [g, [...new Set(names)].sort()]),
  );
}

/** A rendered Role's names by grant, for its named rules. */
const namesInRole = (rules: RoleRule[]): Record<Grant, string[]> =>
  Object.fromEntries(
    rules.filter((r) => r.resourceNames).flatMap((r) => grantsOfRules([r]).map((g) => [g, r.resourceNames!])),
  );

const READ_VERBS = ['get', 'list', 'watch'];
/** The verbs a rule may have: the bot reads and patches; its Jobs it also creates and deletes. */
const VERBS = ['get', 'list', 'patch'];
const JOB_VERBS = ['create', 'delete', 'get', 'list'];
const isJobsRule = (rule: RoleRule) =>
  rule.apiGroups.length === 1 &&
  rule.apiGroups[0] === 'batch' &&
  rule.resources.length === 1 &&
  rule.resources[0] === 'jobs';

/**
 * What no rule may grant, whatever else changes: Secrets (the Jobs read the database password
 * by reference, the bot never), a shell or a tunnel into a pod (the reason backups are Jobs),
 * ServiceAccount tokens, RBAC itself, impersonation, wildcards.
 */
function forbiddenGrants(rules: RoleRule[]): string[] {
  const FORBIDDEN_RESOURCES =
    /^(secrets|pods\/(exec|attach|portforward)|serviceaccounts(\/token)?|roles|rolebindings|.*\*.*)$/;
  const FORBIDDEN_VERBS = /^(\*|escalate|bind|impersonate|update|deletecollection)$/;
  return rules.flatMap((rule) => [
    ...rule.resources.filter((r) => FORBIDDEN_RESOURCES.test(r)).map((r) => `resource ${r}`),
    ...rule.verbs.filter((v) => FORBIDDEN_VERBS.test(v)).map((v) => `verb ${v}`),
    ...rule.apiGroups.filter((g) => g.includes('*')).map((g) => `apiGroup ${g}`),
    ...(rule.nonResourceURLs ?? []).map((u) => `nonResourceURL ${u}`),
  ]);
}

describe('the chart Role (templates/rbac.yaml over files/rbac-rules.yaml)', () => {
  it('is plain least-privilege RBAC: no wildcards, no cluster scope, no secrets, no pods/exec, creates and deletes only Jobs, and every other write names its objects', () => {
    for (const rule of rbacFileRules()) {
      expect(['apiGroups', 'resources', 'verbs', 'resourceNamesFrom', 'onlyWhere', 'unnamed']).toEqual(
        expect.arrayContaining(Object.keys(rule)),
      );
      for (const value of [...rule.apiGroups, ...rule.resources, ...rule.verbs])
        expect(value).not.toContain('*');
      const jobs = isJobsRule(rule);
      for (const verb of rule.verbs)
        expect({ rule, verb, allowed: (jobs ? JOB_VERBS : VERBS).includes(verb) }).toMatchObject({
          allowed: true,
        });
      // Jobs only where the policy backs something up; and only their writes go unnamed, with the reason.
      expect({ rule, onlyWhere: rule.onlyWhere }).toEqual({ rule, onlyWhere: jobs ? 'backups' : undefined });
      if (rule.unnamed !== undefined) {
        expect(jobs).toBe(true);
        expect(rule.unnamed).toMatch(/cannot limit create by name/);
      }
      if (rule.verbs.some((v) => !READ_VERBS.includes(v)))
        expect({ rule, named: Boolean(rule.resourceNamesFrom ?? rule.unnamed) }).toMatchObject({
          named: true,
        });
    }
    expect(forbiddenGrants(rbacFileRules())).toEqual([]);
    // The check itself sees them.
    expect(
      forbiddenGrants([
        { apiGroups: [''], resources: ['secrets', 'pods/exec', 'pods/log'], verbs: ['get', 'create'] },
        { apiGroups: ['*'], resources: ['pods/attach'], verbs: ['*'] },
      ]),
    ).toEqual(['resource secrets', 'resource pods/exec', 'resource pods/attach', 'verb *', 'apiGroup *']);

    expect(Object.keys(ROLES).sort()).toEqual([...namespaces()].sort());
    for (const [namespace, rules] of Object.entries(ROLES)) {
      expect({ namespace, rules: rules.length }).toEqual({ namespace, rules: expect.any(Number) });
      for (const rule of rules) {
        expect(['apiGroups', 'resources', 'verbs', 'resourceNames']).toEqual(
          expect.arrayContaining(Object.keys(rule)),
        );
        // An empty resourceNames would allow every name: the template leaves such a rule out.
        if (rule.resourceNames) expect(rule.resourceNames.length).toBeGreaterThan(0);
        if (rule.verbs.some((v) => !READ_VERBS.includes(v)) && !isJobsRule(rule))
          expect({ namespace, rule, named: Boolean(rule.resourceNames) }).toMatchObject({ named: true });
      }
      expect({ namespace, forbidden: forbiddenGrants(rules) }).toEqual({ namespace, forbidden: [] });
    }
    // Nor with the other values the chart is shipped with.
    for (const valuesFile of ['ci/production-values.yaml', 'ci/socket-mode-values.yaml'])
      for (const rules of Object.values(renderedRoles({ valuesFile })))
        expect({ valuesFile, forbidden: forbiddenGrants(rules) }).toEqual({ valuesFile, forbidden: [] });
    const template = readChartFile('templates', 'rbac.yaml');
    expect(template).toMatch(/\.Files\.Get "files\/rbac-rules\.yaml" \| fromYaml/);
    expect(template).toMatch(/range \$namespace := \.Values\.rbac\.namespaces/);
    expect(template).toContain('include "azora-chatops.rbacNames"');
    expect(template).not.toMatch(/Cluster(Role|RoleBinding)/);
  });

  it.each([
    ['staging', STG],
    ['production', PROD],
  ] as const)(
    'names in %s exactly the objects the bot addresses there (src/kernel/domain/topology.ts)',
    (env, namespace) => {
      const rules = ROLES[namespace]!;
      expect(namesInRole(rules)).toEqual(namesTheBotUses(env));
      // The rest can name nothing: lists, objects named by hashes, and the service proxy.
      const unnamed = grantsOfRules(rules.filter((r) => !r.resourceNames));
      expect(unnamed.sort()).toEqual(
        [
          'apps replicasets get',
          'apps replicasets list',
          'autoscaling horizontalpodautoscalers list',
          // The policy backs up both environments: their Jobs, named at run time.
          'batch jobs create',
          'batch jobs delete',
          'batch jobs get',
          'batch jobs list',
          'core pods list',
          'core pods/log get',
          'core pods/proxy get',
          'core services/proxy get',
        ].sort(),
      );
    },
  );

  it('follows the policy it is given (values.policy): names, and no rule where nothing is named', () => {
    const shipped = readChartYaml<Record<string, unknown>>('files', 'policy.yaml');
    const text = stringify({
      environments: {
        staging: { namespace: 'azora-qa', strategy: 'blue-green', approval: 'none' },
        // On a cluster of its own: no Role here (rbac.namespaces), its kubeconfig context has one.
        production: {
          namespace: 'shop-live',
          strategy: 'rolling',
          approval: 'required',
          approvers: ['U0APPROVER1'],
          context: 'live',
        },
      },
      channels: shipped.channels,
      services: {
        shop: { deployment: 'shop-web', port: 8080, health: '/healthz', replicas: { min: 1, max: 3 } },
        cart: { deployment: 'cart', port: 8081, replicas: { min: 1, max: 3 } },
      },
    });
    const policy = parsePolicy(text, 'the test policy');
    const roles = renderedRoles({ values: { policy: text, rbac: { namespaces: ['azora-qa'] } } });
    expect(Object.keys(roles)).toEqual(['azora-qa']);
    expect(namesInRole(roles['azora-qa']!)).toEqual(namesTheBotUses('staging', policy));
    expect(namesInRole(roles['azora-qa']!)).toMatchObject({
      'apps deployments get': ['cart-blue', 'cart-green', 'shop-web-blue', 'shop-web-green'],
      'apps deployments patch': ['cart-blue', 'cart-green', 'shop-web-blue', 'shop-web-green'],
      'core services patch': ['cart', 'shop-web'],
    });
    // No statefulset: those rules are left out, not left unnamed. No backups: no Jobs.
    const resources = grantsOfRules(roles['azora-qa']!);
    expect(resources.filter((g) => /statefulsets|jobs/.test(g))).toEqual([]);
  });

  it('lets the worker create Jobs only in the namespaces of environments the policy backs up', () => {
    const jobGrants = (roles: Roles) =>
      Object.fromEntries(
        Object.entries(roles).map(([ns, rules]) => [
          ns,
          grantsOfRules(rules).filter((g) => g.startsWith('batch ')),
        ]),
      );
    // No watch: the bot polls its Job (src/kernel/kubernetes/jobs.ts), so the proofs below would find it unused.
    const ALL = ['batch jobs create', 'batch jobs delete', 'batch jobs get', 'batch jobs list'];
    expect(jobGrants(ROLES)).toEqual({ [STG]: ALL, [PROD]: ALL });
    expect(jobGrants(renderedRoles({ values: { policy: policyWithBackups(['production']) } }))).toEqual({
      [STG]: [],
      [PROD]: ALL,
    });
    expect(jobGrants(renderedRoles({ values: { policy: policyWithBackups([]) } }))).toEqual({
      [STG]: [],
      [PROD]: [],
    });
    // The rest of the Role does not depend on backups.
    const withoutJobs = (roles: Roles) =>
      Object.fromEntries(
        Object.entries(roles).map(([ns, rules]) => [ns, rules.filter((r) => !isJobsRule(r))]),
      );
    expect(withoutJobs(renderedRoles({ values: { policy: policyWithBackups([]) } }))).toEqual(
      withoutJobs(ROLES),
    );
  });

  it('fails to render rather than grant by accident', () => {
    // helm's `fail`, with the template it comes from.
    const fromRbac = (message: string) =>
      new RegExp(`execution error at \\(azora-chatops/templates/rbac\\.yaml:\\d+:\\d+\\): ${message}`);
    expect(() => renderedRoles({ values: { rbac: { namespaces: ['azora-staging', 'azora-qa'] } } })).toThrow(
      fromRbac('rbac\\.namespaces: azora-qa is the namespace of no environment in the policy'),
    );
    const rules = rbacFileRules();
    const unnamedWrite = rules.map(({ resourceNamesFrom: _, ...rule }) => rule);
    expect(() =>
      renderedRoles({ files: { 'files/rbac-rules.yaml': stringify({ rules: unnamedWrite }) } }),
    ).toThrow(
      fromRbac(
        'files/rbac-rules\\.yaml: patch on deployments names no objects \\(resourceNamesFrom\\); a rule that writes must, or say why it cannot \\(unnamed\\)',
      ),
    );
    const noReason = rules.map(({ unnamed: _, ...rule }) => rule);
    expect(() =>
      renderedRoles({ files: { 'files/rbac-rules.yaml': stringify({ rules: noReason }) } }),
    ).toThrow(
      fromRbac(
        'files/rbac-rules\\.yaml: create on jobs names no objects \\(resourceNamesFrom\\); a rule that writes must, or say why it cannot \\(unnamed\\)',
      ),
    );
    const elsewhere = rules.map((r) => (r.onlyWhere ? { ...r, onlyWhere: 'backup' } : r));
    expect(() =>
      renderedRoles({ files: { 'files/rbac-rules.yaml': stringify({ rules: elsewhere }) } }),
    ).toThrow(fromRbac('files/rbac-rules\\.yaml: onlyWhere "backup" is not backups'));
    const misspelt = rules.map((r) => (r.resourceNamesFrom ? { ...r, resourceNamesFrom: 'deploymnets' } : r));
    expect(() =>
      renderedRoles({ files: { 'files/rbac-rules.yaml': stringify({ rules: misspelt }) } }),
    ).toThrow(
      fromRbac(
        'files/rbac-rules\\.yaml: resourceNamesFrom "deploymnets" is none of autoscalers, blueGreenServices, deployments, statefulsets',
      ),
    );
  });

  it('has a proof for every verb it grants, and grants every verb the proofs use', () => {
    expect(grantsOf(ROLES)).toEqual(Object.keys(NEEDED_BY).sort());
  });

  it('lets the bot do everything it does, and every grant is used (both environments)', async () => {
    const t = await clusterWith(ROLES);
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

      // A blue/green deploy of auth: the idle colour gets the image and the live colour's
      // replicas, its pods are checked on their own, then traffic moves with the record.
      const image = `${REPO}/auth:v1.6.0`;
      expect(await kube.setImage('production', 'auth', 'azora-auth-green', image)).toEqual({
        container: 'auth',
        changed: true,
      });
      await kube.waitForRollout('production', PROD, 'azora-auth-green', 5_000);
      await kube.scaleDeployment('production', 'auth', 'azora-auth-green', 4);
      await kube.waitForScale('production', 'auth', 'azora-auth-green', 4, 5_000);
      const pods = await kube.probePods('production', 'auth', 'azora-auth-green', '/api/auth/health');
      expect(pods.map((p) => p.status)).toEqual([200, 200, 200, 200]);
      const release: ReleaseRecord = {
        id: 'r0001',
        action: 'deploy',
        version: 'v1.6.0',
        image,
        colour: 'green',
        requester: 'U0ENGINEER',
        start: 1_900_000_000_000,
        result: 'succeeded',
      };
      await kube.switchColour('production', 'auth', 'green', 5_000, release);
      expect(await kube.probeService('production', 'auth', '/api/auth/health')).toMatchObject({
        status: 200,
      });
      expect((await kube.releases('production', 'auth')).at(-1)).toEqual(release);
      // A rolling deploy keeps its history on the Deployment.
      await kube.recordRelease('staging', 'auth', { ...release, colour: undefined });
      expect((await kube.releases('staging', 'auth')).at(-1)?.id).toBe('r0001');

      // A backup in each environment: its Job runs the scripts (against the simulated
      // PostgreSQL), the log says how it went, the bot finds it by label and deletes it.
      for (const env of ['staging', 'production'] as const) {
        const { job, outcome } = await backupRun(kube, env);
        expect(outcome.status).toBe('succeeded');
        expect(parseScriptReport('backup', outcome.log)).toMatchObject({ ok: true });
        const name = job.metadata.name;
        expect((await kube.listJobs(env, 'backup')).map((j) => j.name)).toContain(name);
        await kube.deleteJob(env, name);
        expect((await kube.listJobs(env, 'backup')).map((j) => j.name)).not.toContain(name);
      }

      // What the bot asked the API server for, in RBAC terms: all allowed, and all of the Roles used.
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
      expect([...used].sort()).toEqual(grantsOf(ROLES));
    } finally {
      await t.sim.stop();
    }
  });

  describe('against objects the policy does not name', () => {
    const INTRUDER = 'azora-intruder';
    const labels = { app: INTRUDER };
    const ANNOTATE = { metadata: { annotations: { 'azora.world/touched': 'yes' } } };

    /** The API server over HTTP with a bearer token: the worker's, or the admin's to set the scene. */
    async function call(t: TestCluster, token: string, method: string, path: string, body?: unknown) {
      const res = await fetch(`${t.sim.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const json = (await res.json()) as { message?: string } & Record<string, unknown>;
      return { status: res.status, message: json.message ?? '', json };
    }

    async function createIntruders(t: TestCluster, namespace: string) {
      const objects: Array<[string, unknown]> = [
        [
          `/apis/apps/v1/namespaces/${namespace}/deployments`,
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: INTRUDER, labels },
            spec: {
              replicas: 1,
              selector: { matchLabels: labels },
              template: {
                metadata: { labels },
                spec: { containers: [{ name: 'app', image: 'registry.azora.world/other/intruder:1' }] },
              },
            },
          },
        ],
        [
          `/api/v1/namespaces/${namespace}/services`,
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: INTRUDER },
            spec: { selector: labels, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
          },
        ],
        [
          `/apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers`,
          {
            apiVersion: 'autoscaling/v2',
            kind: 'HorizontalPodAutoscaler',
            metadata: { name: INTRUDER },
            spec: {
              scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: INTRUDER },
              minReplicas: 1,
              maxReplicas: 3,
            },
          },
        ],
      ];
      for (const [path, body] of objects)
        expect((await call(t, t.sim.adminToken, 'POST', path, body)).status).toBe(201);
    }

    /** The worker's writes, each with an object of the policy it may make it on in that namespace. */
    const WRITES = [
      {
        what: 'a Deployment (set image, rollback, release history)',
        resource: 'deployments',
        group: 'apps',
        path: (ns: string, name: string) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
        body: ANNOTATE,
        ours: { [STG]: 'azora-payment', [PROD]: 'azora-payment-green' } as Record<string, string>,
      },
      {
        what: "a Deployment's scale",
        resource: 'deployments/scale',
        group: 'apps',
        path: (ns: string, name: string) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}/scale`,
        body: { spec: { replicas: 3 } },
        ours: { [STG]: 'azora-auth', [PROD]: 'azora-auth-green' } as Record<string, string>,
      },
      {
        what: "a Service (the colour switch's selector patch)",
        resource: 'services',
        group: '',
        path: (ns: string, name: string) => `/api/v1/namespaces/${ns}/services/${name}`,
        body: { spec: { selector: { app: 'azora-payment', version: 'green' } } },
        ours: { [PROD]: 'azora-payment' } as Record<string, string>,
      },
      {
        what: "an HPA (the scale's bounds patch)",
        resource: 'horizontalpodautoscalers',
        group: 'autoscaling',
        path: (ns: string, name: string) =>
          `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers/${name}`,
        body: { spec: { minReplicas: 3, maxReplicas: 10 } },
        ours: { [PROD]: 'azora-payment-green' } as Record<string, string>,
      },
    ];

    it('refuses every write to a Deployment, its scale, a Service and an HPA outside the policy with 403, in each namespace, while the same write on a policy object passes', async () => {
      const t = await clusterWith(ROLES);
      try {
        for (const namespace of namespaces()) {
          await createIntruders(t, namespace);
          for (const write of WRITES) {
            const refused = await call(t, TOKEN, 'PATCH', write.path(namespace, INTRUDER), write.body);
            const qualified = write.group ? `${write.resource.split('/')[0]}.${write.group}` : write.resource;
            expect({ what: write.what, namespace, status: refused.status, message: refused.message }).toEqual(
              {
                what: write.what,
                namespace,
                status: 403,
                message:
                  `${qualified} "${INTRUDER}" is forbidden: User "${USER}" cannot patch resource ` +
                  `"${write.resource}" in API group "${write.group}" in the namespace "${namespace}"`,
              },
            );
            const ours = write.ours[namespace];
            if (ours) {
              const allowed = await call(t, TOKEN, 'PATCH', write.path(namespace, ours), write.body);
              expect({ what: write.what, namespace, ours, status: allowed.status }).toEqual({
                what: write.what,
                namespace,
                ours,
                status: 200,
              });
            }
          }
          // Reads by name are named too: the worker cannot even read the intruder's spec.
          const read = await call(
            t,
            TOKEN,
            'GET',
            `/apis/apps/v1/namespaces/${namespace}/deployments/${INTRUDER}`,
          );
          expect(read.status).toBe(403);
        }
        // Nothing reached the intruders.
        for (const namespace of namespaces()) {
          const deployment = t.sim.get('Deployment', namespace, INTRUDER)!;
          expect(deployment.metadata.annotations?.['azora.world/touched']).toBeUndefined();
          expect((deployment.spec as { replicas: number }).replicas).toBe(1);
          expect((t.sim.get('Service', namespace, INTRUDER)!.spec as { selector: unknown }).selector).toEqual(
            labels,
          );
          expect(
            (t.sim.get('HorizontalPodAutoscaler', namespace, INTRUDER)!.spec as { maxReplicas: number })
              .maxReplicas,
          ).toBe(3);
        }
      } finally {
        await t.sim.stop();
      }
    });

    it('covers what the seeded cluster lacks: an HPA in staging, a production deployment without one, and refuses an HPA not named after its Deployment', async () => {
      const t = await clusterWith(ROLES);
      try {
        const admin = (method: string, path: string, body?: unknown) =>
          call(t, t.sim.adminToken, method, path, body);
        const hpa = (name: string, target: string) => ({
          apiVersion: 'autoscaling/v2',
          kind: 'HorizontalPodAutoscaler',
          metadata: { name },
          spec: {
            scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
            minReplicas: 2,
            maxReplicas: 6,
          },
        });
        const hpas = (ns: string) => `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers`;
        expect((await admin('POST', hpas(STG), hpa('azora-education', 'azora-education'))).status).toBe(201);
        expect((await admin('DELETE', `${hpas(PROD)}/azora-auth-blue`)).status).toBe(200);

        // Staging's HPA is moved; production's auth, now without one, is scaled directly.
        const staging = await t.kube.scale('staging', 'education', 4);
        expect(staging.hpa).toMatchObject({ name: 'azora-education', after: { min: 4, max: 6 } });
        const production = await t.kube.scale('production', 'auth', 4);
        expect(production).toMatchObject({ target: 'azora-auth-blue', kind: 'deployment' });
        expect(production.hpa).toBeUndefined();
        expect(t.sim.requests.filter((r) => r.user === USER && r.status >= 400)).toEqual([]);

        // The Role can name an HPA only by its Deployment's name (kubectl autoscale's default).
        expect((await admin('POST', hpas(STG), hpa('auth-autoscaler', 'azora-auth'))).status).toBe(201);
        const failure = await t.kube.scale('staging', 'auth', 3).catch((err: unknown) => err);
        expect(failure).toBeInstanceOf(KubeError);
        expect(failure).toMatchObject({ kind: 'forbidden', status: 403 });
        expect((failure as KubeError).message).toContain(
          `horizontalpodautoscalers.autoscaling "auth-autoscaler" is forbidden`,
        );
      } finally {
        await t.sim.stop();
      }
    });
  });

  describe.each(grantsOf(ROLES).map((g) => [g]))('without %s', (dropped) => {
    const [group, resource, verb] = dropped.split(' ') as [string, string, string];
    const need = NEEDED_BY[dropped];
    if (!need) {
      it('is needed by some operation', () => {
        throw new Error(`no bot operation is known to need ${dropped}: drop it from files/rbac-rules.yaml`);
      });
      return;
    }

    it(`refuses ${need.operation} with 403`, async () => {
      const t = await clusterWith(without(ROLES, dropped));
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
