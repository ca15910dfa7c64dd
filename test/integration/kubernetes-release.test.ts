import type { Policy } from '../../src/config/policy';
import {
  appendRelease,
  parseReleases,
  RELEASES_ANNOTATION,
  versionOf,
  type ReleaseRecord,
} from '../../src/kernel/domain/release';
import { loadClusterClients } from '../../src/kernel/kubernetes/clients';
import { KubeError } from '../../src/kernel/kubernetes/errors';
import { Kubernetes } from '../../src/kernel/kubernetes/kubernetes';
import type { ClusterPort } from '../../src/kernel/kubernetes/port';
import { workloadOf } from '../../src/kernel/domain/topology';
import { FakeCluster } from '../kit/fakes/cluster';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import { APPROVER, ENGINEER, PROD, STG } from '../kit/ids';
import { waitFor } from '../kit/wait';

/**
 * What a release asks of the cluster, through the real adapter against the simulated API
 * server: kubectl's set image and the rollout that follows, one colour's replicas (with and
 * without an HPA), probes through the pod and service proxies, and the release history kept
 * on the Service or Deployment.
 */

const REPO = 'registry.azora.world/azora';

type Container = { name: string; image: string };
const containersOf = (d: { spec?: unknown } | undefined): Container[] =>
  (d?.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers;
const annotationsOf = (obj: { metadata?: { annotations?: Record<string, string> } } | undefined) =>
  obj?.metadata?.annotations ?? {};
const replicasOf = (obj: { spec?: unknown } | undefined) => (obj?.spec as { replicas?: number }).replicas;

const kubeError = async (promise: Promise<unknown>): Promise<KubeError> => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KubeError);
  return err as KubeError;
};

const T0 = Date.parse('2031-03-04T09:00:00.000Z');
const record = (id: string, more: Partial<ReleaseRecord> = {}): ReleaseRecord => ({
  id,
  action: 'deploy',
  version: 'v1.6.0',
  image: `${REPO}/payment:v1.6.0`,
  requester: ENGINEER,
  approver: APPROVER,
  start: T0,
  end: T0 + 90_000,
  result: 'succeeded',
  ...more,
});

const clusters: TestCluster[] = [];
async function cluster(options: Parameters<typeof startTestCluster>[0] = {}): Promise<TestCluster> {
  const t = await startTestCluster(options);
  clusters.push(t);
  return t;
}
afterAll(async () => {
  await Promise.all(clusters.map((t) => t.sim.stop()));
});

/** An adapter on the same simulated cluster under a changed policy. */
function withPolicy(t: TestCluster, change: (policy: Policy) => void): Kubernetes {
  const policy = structuredClone(t.policy);
  change(policy);
  return new Kubernetes(policy, loadClusterClients(policy, t.load), { pollMs: 20, requestTimeoutMs: 5_000 });
}

const patches = (t: TestCluster, path: RegExp) =>
  t.sim.requests.filter((r) => r.method === 'PATCH' && path.test(r.url.split('?')[0]!));

describe('setImage: kubectl set image, on the right container', () => {
  let t: TestCluster;
  beforeEach(async () => {
    t = await cluster();
  });
  afterEach(() => t.sim.stop());

  it('sets the image of a rolling deployment, which then rolls out as a new revision; once', async () => {
    const image = `${REPO}/auth:v1.6.0`;
    expect(await t.kube.setImage('staging', 'auth', 'azora-auth', image)).toEqual({
      container: 'auth',
      changed: true,
    });
    const done = await t.kube.waitForRollout('staging', STG, 'azora-auth', 5_000);
    expect(done.spec!.template.spec!.containers.map((c) => c.image)).toEqual([image]);
    expect(done.metadata!.annotations!['deployment.kubernetes.io/revision']).toBe('4');
    expect(done.status).toMatchObject({ updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 });

    // Again (a retried job): nothing is sent, nothing rolls.
    const sent = patches(t, /deployments\/azora-auth$/).length;
    expect(await t.kube.setImage('staging', 'auth', 'azora-auth', image)).toEqual({
      container: 'auth',
      changed: false,
    });
    expect(patches(t, /deployments\/azora-auth$/).length).toBe(sent);
    await t.sim.settle();
    expect(
      annotationsOf(t.sim.get('deployments', STG, 'azora-auth'))['deployment.kubernetes.io/revision'],
    ).toBe('4');
  });

  it('sets the image of one colour of a blue/green service and leaves the other alone', async () => {
    const image = `${REPO}/payment@sha256:${'ab'.repeat(32)}`;
    expect(await t.kube.setImage('production', 'payment', 'azora-payment-green', image)).toEqual({
      container: 'payment',
      changed: true,
    });
    const green = await t.kube.waitForRollout('production', PROD, 'azora-payment-green', 5_000);
    expect(green.spec!.template.spec!.containers[0]!.image).toBe(image);
    expect(containersOf(t.sim.get('deployments', PROD, 'azora-payment-blue'))[0]!.image).toBe(
      `${REPO}/payment:v1.5.0`,
    );
    // The Service still selects blue: an image change is not a switch.
    expect((t.sim.get('services', PROD, 'azora-payment')!.spec as { selector: unknown }).selector).toEqual({
      app: 'azora-payment',
      version: 'blue',
    });
  });

  it('waits for a rollout that has not finished, and times out on one that cannot', async () => {
    await t.sim.stop();
    t = await cluster({ readyDelayMs: 300 });
    await t.kube.setImage('staging', 'payment', 'azora-payment', `${REPO}/payment:v1.6.0`);
    // Pods take 300 ms to be Ready: the wait has to wait for them.
    const done = await t.kube.waitForRollout('staging', STG, 'azora-payment', 5_000);
    expect(done.status?.availableReplicas).toBe(2);
    expect(containersOf(done)[0]!.image).toBe(`${REPO}/payment:v1.6.0`);

    await t.kube.setImage('staging', 'auth', 'azora-auth', `${REPO}/auth:v1.6.0`);
    const err = await kubeError(t.kube.waitForRollout('staging', STG, 'azora-auth', 50));
    expect(err.kind).toBe('deadline');
    expect(err.message).toMatch(/^rollout of azora-auth did not finish within 0s: /);
  });

  it('refuses an image from another repository, and a deployment that is not the service’s', async () => {
    const other = await kubeError(
      t.kube.setImage('staging', 'auth', 'azora-auth', 'docker.io/someone/auth:v1.6.0'),
    );
    expect(other).toMatchObject({ kind: 'precondition' });
    expect(other.message).toBe(
      `not setting docker.io/someone/auth:v1.6.0 on azora-auth: auth takes images from ${REPO}/auth only (services.auth.image)`,
    );
    const notOurs = await kubeError(t.kube.setImage('staging', 'auth', 'azora-payment', `${REPO}/auth:v2`));
    expect(notOurs.message).toBe('azora-payment is not a deployment of auth in staging (azora-auth)');
    expect(patches(t, /deployments/)).toEqual([]);
  });

  it('refuses when no container runs the policy’s repository, or several do, and takes the policy’s container', async () => {
    const elsewhere = withPolicy(t, (p) => {
      p.services['auth']!.image = 'registry.azora.world/other/auth';
    });
    const none = await kubeError(
      elsewhere.setImage('staging', 'auth', 'azora-auth', 'registry.azora.world/other/auth:v2'),
    );
    expect(none).toMatchObject({ kind: 'precondition' });
    expect(none.message).toBe(
      `no container of deployment azora-auth runs registry.azora.world/other/auth (services.auth.image); its containers: auth=${REPO}/auth:v1.5.0`,
    );

    // A second container from the same repository (a migration sidecar, say).
    const { apps } = t.kube.clients('staging');
    await apps.patchNamespacedDeployment({
      name: 'azora-auth',
      namespace: STG,
      body: [
        {
          op: 'add',
          path: '/spec/template/spec/containers/-',
          value: { name: 'auth-migrate', image: `${REPO}/auth:v1.5.0` },
        },
      ],
    });
    const several = await kubeError(t.kube.setImage('staging', 'auth', 'azora-auth', `${REPO}/auth:v1.6.0`));
    expect(several.message).toBe(
      `2 containers of deployment azora-auth run ${REPO}/auth (auth, auth-migrate); name the one to change in services.auth.container`,
    );

    const misnamed = withPolicy(t, (p) => {
      p.services['auth']!.container = 'web';
    });
    const missing = await kubeError(
      misnamed.setImage('staging', 'auth', 'azora-auth', `${REPO}/auth:v1.6.0`),
    );
    expect(missing.message).toBe(
      `deployment azora-auth has no container 'web' (services.auth.container); its containers: ` +
        `auth=${REPO}/auth:v1.5.0, auth-migrate=${REPO}/auth:v1.5.0`,
    );
    expect(patches(t, /deployments\/azora-auth$/).length).toBe(1); // the test's own sidecar

    const named = withPolicy(t, (p) => {
      p.services['auth']!.container = 'auth-migrate';
    });
    expect(await named.setImage('staging', 'auth', 'azora-auth', `${REPO}/auth:v1.6.0`)).toEqual({
      container: 'auth-migrate',
      changed: true,
    });
    const done = await named.waitForRollout('staging', STG, 'azora-auth', 5_000);
    expect(containersOf(done)).toEqual([
      expect.objectContaining({ name: 'auth', image: `${REPO}/auth:v1.5.0` }),
      expect.objectContaining({ name: 'auth-migrate', image: `${REPO}/auth:v1.6.0` }),
    ]);
  });
});

describe('scaleDeployment: one colour’s replicas', () => {
  let t: TestCluster;
  beforeEach(async () => {
    t = await cluster();
  });
  afterEach(() => t.sim.stop());

  it('patches the scale of a deployment no HPA owns, and sends nothing when it is there', async () => {
    await t.kube.scaleDeployment('staging', 'auth', 'azora-auth', 4);
    await t.kube.waitForScale('staging', 'auth', 'azora-auth', 4, 5_000);
    expect(replicasOf(t.sim.get('deployments', STG, 'azora-auth'))).toBe(4);
    expect(patches(t, /deployments\/azora-auth\/scale$/).length).toBe(1);

    await t.kube.scaleDeployment('staging', 'auth', 'azora-auth', 4);
    expect(patches(t, /./).length).toBe(1);
  });

  it('raises the minimum of the HPA that targets it (and its maximum to at least that) instead', async () => {
    await t.kube.scaleDeployment('production', 'payment', 'azora-payment-green', 5);
    expect(t.sim.get('hpa', PROD, 'azora-payment-green')!.spec).toMatchObject({
      minReplicas: 5,
      maxReplicas: 10,
    });
    await t.kube.waitForScale('production', 'payment', 'azora-payment-green', 5, 5_000);
    // The replicas were below the new minimum, so they were set too (the HPA would have).
    expect(patches(t, /deployments\/azora-payment-green\/scale$/).length).toBe(1);
    // The live colour and its HPA are untouched.
    expect(t.sim.get('hpa', PROD, 'azora-payment-blue')!.spec).toMatchObject({ minReplicas: 3 });
    expect(replicasOf(t.sim.get('deployments', PROD, 'azora-payment-blue'))).toBe(3);

    await t.kube.scaleDeployment('production', 'payment', 'azora-payment-green', 12);
    expect(t.sim.get('hpa', PROD, 'azora-payment-green')!.spec).toMatchObject({
      minReplicas: 12,
      maxReplicas: 12,
    });
    await t.kube.waitForScale('production', 'payment', 'azora-payment-green', 12, 5_000);

    const sent = patches(t, /./).length;
    await t.kube.scaleDeployment('production', 'payment', 'azora-payment-green', 12);
    expect(patches(t, /./).length).toBe(sent);
  });

  it('sets the replicas too when the deployment is at 0, where an HPA does not act', async () => {
    const { apps } = t.kube.clients('production');
    await apps.patchNamespacedDeployment({
      name: 'azora-payment-green',
      namespace: PROD,
      body: [{ op: 'replace', path: '/spec/replicas', value: 0 }],
    });
    await t.sim.settle();
    await t.kube.scaleDeployment('production', 'payment', 'azora-payment-green', 3);
    await t.kube.waitForScale('production', 'payment', 'azora-payment-green', 3, 5_000);
    // The HPA's minimum was 3 already: only the scale was patched.
    expect(patches(t, /horizontalpodautoscalers/)).toEqual([]);
    expect(patches(t, /deployments\/azora-payment-green\/scale$/).length).toBe(1);
  });
});

describe('probes through the API server’s proxies', () => {
  let t: TestCluster;
  beforeAll(async () => {
    t = await cluster();
  });
  afterEach(() => {
    t.sim.faults.clear();
    t.sim.setHealthy(PROD, 'azora-payment-green', true);
    t.sim.setHealthy(PROD, 'azora-payment-blue', true);
  });

  const greenPods = () =>
    t.sim
      .list('pods', PROD)
      .map((p) => p.metadata.name)
      .filter((name) => name.startsWith('azora-payment-green-'))
      .sort();

  it('GETs a path on every pod of one colour, whatever the Service selects', async () => {
    const pods = greenPods();
    const greenVersion = versionOf(
      containersOf(t.sim.get('deployments', PROD, 'azora-payment-green'))[0]!.image,
    );
    expect(pods.length).toBe(3);
    const health = await t.kube.probePods('production', 'payment', 'azora-payment-green', '/api/pay/health');
    expect(health.map((r) => r.pod)).toEqual(pods);
    expect(health.map((r) => r.status)).toEqual([200, 200, 200]);
    for (const answer of health) {
      expect(JSON.parse(answer.detail)).toMatchObject({
        status: 'ok',
        version: greenVersion,
        pod: answer.pod,
      });
    }
    // Each pod was asked on the policy's port, through the pod proxy.
    const asked = t.sim.requests
      .filter((r) => /\/pods\/[^/]+\/proxy\//.test(r.url))
      .map((r) => decodeURIComponent(r.url));
    expect(asked.sort()).toEqual(
      pods.map((p) => `/api/v1/namespaces/${PROD}/pods/${p}:3003/proxy/api/pay/health`).sort(),
    );

    const version = await t.kube.probePods('production', 'payment', 'azora-payment-green', '/version');
    expect(version.map((r) => [r.status, JSON.parse(r.detail)])).toEqual(
      pods.map(() => [200, { service: 'payment', version: greenVersion }]),
    );
    const missing = await t.kube.probePods('production', 'payment', 'azora-payment-green', '/nope');
    expect(missing.map((r) => [r.status, r.detail])).toEqual(pods.map(() => [404, 'Cannot GET /nope']));
  });

  it('reports each pod’s failure: the app’s 503 with its body, and 0 when nothing answers', async () => {
    t.sim.setHealthy(PROD, 'azora-payment-green', false);
    const sick = await t.kube.probePods('production', 'payment', 'azora-payment-green', '/api/pay/health');
    expect(sick.map((r) => r.status)).toEqual([503, 503, 503]);
    expect(JSON.parse(sick[0]!.detail)).toMatchObject({ status: 'error', checks: { database: 'down' } });
    expect(sick.every((r) => r.detail.length <= 200)).toBe(true);

    // One pod's request hangs past the request deadline: no answer from it, the others answer.
    await t.sim.stop();
    t = await cluster({ requestTimeoutMs: 300 });
    const [first, ...rest] = greenPods();
    t.sim.faults.hangNext(1, 2_000, { path: new RegExp(`/pods/${first}`) });
    const partial = await t.kube.probePods('production', 'payment', 'azora-payment-green', '/api/pay/health');
    expect(partial.find((r) => r.pod === first)).toEqual({
      pod: first,
      status: 0,
      detail: expect.stringMatching(/did not answer in time/),
    });
    expect(partial.filter((r) => r.pod !== first).map((r) => r.status)).toEqual(rest.map(() => 200));
  });

  it('refuses a deployment that is not the service’s, and one without pods', async () => {
    const err = await kubeError(t.kube.probePods('production', 'payment', 'azora-auth-green', '/version'));
    expect(err.message).toBe(
      'azora-auth-green is not a deployment of payment in production (azora-payment-blue, azora-payment-green)',
    );
    const { apps } = t.kube.clients('production');
    await apps.patchNamespacedDeployment({
      name: 'azora-auth-green',
      namespace: PROD,
      body: [{ op: 'replace', path: '/spec/replicas', value: 0 }],
    });
    await t.sim.settle();
    const empty = await kubeError(t.kube.probePods('production', 'auth', 'azora-auth-green', '/version'));
    expect(empty.kind).toBe('not-found');
    expect(empty.message).toBe(
      'azora-auth-green in production has no pods (selector app=azora-auth,version=green)',
    );
  });

  it('GETs a path through the service proxy and returns the status', async () => {
    const live = versionOf(containersOf(t.sim.get('deployments', PROD, 'azora-payment-blue'))[0]!.image);
    const ok = await t.kube.probeService('production', 'payment', '/api/pay/health');
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.detail)).toMatchObject({ status: 'ok', version: live });
    expect(await t.kube.probeService('production', 'payment', '/version')).toEqual({
      status: 200,
      detail: JSON.stringify({ service: 'payment', version: live }),
    });
    expect(await t.kube.probeService('staging', 'auth', '/missing')).toEqual({
      status: 404,
      detail: 'Cannot GET /missing',
    });
    t.sim.setHealthy(PROD, 'azora-payment-blue', false);
    expect((await t.kube.probeService('production', 'payment', '/api/pay/health')).status).toBe(503);
    t.sim.faults.failNext(1, { status: 500, message: 'etcd is down', path: /services\/azora-payment/ });
    expect(await t.kube.probeService('production', 'payment', '/api/pay/health')).toEqual({
      status: 500,
      detail: 'etcd is down',
    });
    const statefulset = await kubeError(t.kube.probeService('production', 'postgres-replica', '/'));
    expect(statefulset.kind).toBe('precondition');
  });

  it('probes once more, on a new connection, when the API server cut the one it went out on', async () => {
    t.sim.faults.dropNext(1, { path: /\/proxy\// });
    const answer = await t.kube.probeService('production', 'payment', '/api/pay/health');
    expect(answer.status).toBe(200);
    t.sim.faults.dropNext(1, { path: /\/proxy\// });
    const pods = await t.kube.probePods('production', 'payment', 'azora-payment-green', '/api/pay/health');
    expect(pods.map((p) => p.status)).toEqual(pods.map(() => 200));
    expect(pods.length).toBeGreaterThan(0);
  });

  it('returns 0 when the API server does not answer at all', async () => {
    await t.sim.faults.stopListening();
    try {
      const down = await t.kube.probeService('production', 'payment', '/api/pay/health');
      expect(down.status).toBe(0);
      expect(down.detail).toMatch(/unreachable \(ECONNREFUSED\)/);
    } finally {
      await t.sim.faults.startListening();
    }
  });
});

describe('release history on the cluster objects', () => {
  let t: TestCluster;
  beforeEach(async () => {
    t = await cluster();
  });
  afterEach(() => t.sim.stop());

  it('keeps it on the Service of a blue/green service and the Deployment of a rolling one, round trip', async () => {
    // What the cluster has already (the simulated cluster seeds some history), oldest first.
    const seeded = await t.kube.releases('production', 'payment');
    expect(seeded.length).toBeLessThan(t.policy.releases.history - 2);
    const first = record('r0001');
    const second = record('r0002', {
      action: 'switch',
      colour: 'green',
      previous: { colour: 'blue', version: 'v1.5.0', image: `${REPO}/payment:v1.5.0` },
    });
    await t.kube.recordRelease('production', 'payment', first);
    await t.kube.recordRelease('production', 'payment', second);
    expect(await t.kube.releases('production', 'payment')).toEqual([...seeded, first, second]);
    const stored = annotationsOf(t.sim.get('services', PROD, 'azora-payment'))[RELEASES_ANNOTATION];
    expect(parseReleases(stored)).toEqual([...seeded, first, second]);
    expect(JSON.parse(stored!).at(-2)).toMatchObject({ id: 'r0001', start: '2031-03-04T09:00:00.000Z' });

    const rollingBefore = await t.kube.releases('staging', 'auth');
    const generation = t.sim.get('deployments', STG, 'azora-auth')!.metadata.generation;
    const rolling = record('r0003', { image: `${REPO}/auth:v1.6.0` });
    await t.kube.recordRelease('staging', 'auth', rolling);
    expect(await t.kube.releases('staging', 'auth')).toEqual([...rollingBefore, rolling]);
    const deployment = t.sim.get('deployments', STG, 'azora-auth')!;
    expect(parseReleases(annotationsOf(deployment)[RELEASES_ANNOTATION])).toEqual([
      ...rollingBefore,
      rolling,
    ]);
    // An annotation is not the template: nothing rolled.
    expect(deployment.metadata.generation).toBe(generation);
    expect(annotationsOf(deployment)['deployment.kubernetes.io/revision']).toBe('3');
  });

  it('replaces a record by its id, so a retry adds nothing, and keeps the newest `releases.history`', async () => {
    const seeded = await t.kube.releases('production', 'payment');
    await t.kube.recordRelease('production', 'payment', record('r0001', { result: 'failed', detail: 'x' }));
    const finished = record('r0001');
    await t.kube.recordRelease('production', 'payment', finished);
    expect(await t.kube.releases('production', 'payment')).toEqual([...seeded, finished]);
    const sent = patches(t, /services\/azora-payment$/).length;
    await t.kube.recordRelease('production', 'payment', finished);
    expect(patches(t, /services\/azora-payment$/).length).toBe(sent);

    const three = withPolicy(t, (p) => {
      p.releases.history = 3;
    });
    for (let i = 2; i <= 6; i++) await three.recordRelease('production', 'payment', record(`r000${i}`));
    expect((await three.releases('production', 'payment')).map((r) => r.id)).toEqual([
      'r0004',
      'r0005',
      'r0006',
    ]);
  });

  it('starts over on a 409 when someone else wrote between its read and its patch', async () => {
    // Our patch is held; meanwhile another writer replaces the Service with a record of its own.
    t.sim.faults.hangNext(1, 1_500, { method: 'PATCH', path: /services\/azora-payment$/ });
    const from = t.sim.requests.length;
    const ours = record('r0001');
    const pending = t.kube.recordRelease('production', 'payment', ours);
    await waitFor(
      () =>
        t.sim.requests
          .slice(from)
          .filter((r) => r.method === 'GET' && /services\/azora-payment$/.test(r.url)),
      (reads) => reads.length > 0,
      { what: 'the adapter to read the Service' },
    );
    const theirs = record('r0099', { requester: 'bot', action: 'auto-switch-back' });
    const { core } = t.kube.clients('production');
    const service = await core.readNamespacedService({ name: 'azora-payment', namespace: PROD });
    service.metadata!.annotations = {
      ...service.metadata!.annotations,
      [RELEASES_ANNOTATION]: appendRelease([], theirs, 20),
    };
    await core.replaceNamespacedService({ name: 'azora-payment', namespace: PROD, body: service });
    await pending;

    const conflicts = t.sim.requests
      .slice(from)
      .filter((r) => r.method === 'PATCH' && /services\/azora-payment$/.test(r.url))
      .map((r) => r.status);
    expect(conflicts).toEqual([409, 200]);
    expect(await t.kube.releases('production', 'payment')).toEqual([theirs, ours]);
    expect(parseReleases(annotationsOf(service)[RELEASES_ANNOTATION])).toEqual([theirs]);
  });

  it('gives up after a few conflicts in a row, as a transient KubeError', async () => {
    t.sim.faults.failNext(4, { method: 'PATCH', status: 409, message: 'the object has been modified' });
    const err = await kubeError(t.kube.recordRelease('staging', 'auth', record('r0001')));
    expect(err).toMatchObject({ kind: 'conflict', transient: true, status: 409 });
    expect(patches(t, /deployments\/azora-auth$/).map((r) => r.status)).toEqual([409, 409, 409, 409]);
  });

  it('survives a rollback of the rolling deployment it is kept on', async () => {
    const seeded = await t.kube.releases('staging', 'payment');
    const before = record('r0001', { image: `${REPO}/payment:v1.5.0`, version: 'v1.5.0' });
    await t.kube.recordRelease('staging', 'payment', before);
    await t.sim.settle();
    // The deployment controller copies it onto the current ReplicaSet, which a rollback leaves.
    const target = await t.kube.planRollback('staging', 'payment');
    await t.kube.applyRollback('staging', 'payment', target);
    await t.kube.waitForRollout('staging', STG, 'azora-payment', 5_000);
    expect(await t.kube.releases('staging', 'payment')).toEqual([...seeded, before]);
  });

  it('refuses a statefulset', async () => {
    const err = await kubeError(t.kube.releases('production', 'postgres-replica'));
    expect(err).toMatchObject({ kind: 'precondition' });
    expect((await kubeError(t.kube.recordRelease('production', 'postgres-replica', record('r1')))).kind).toBe(
      'precondition',
    );
  });
});

describe('switchColour with a release: the selector and the record in one patch', () => {
  let t: TestCluster;
  beforeEach(async () => {
    t = await cluster();
  });
  afterEach(() => t.sim.stop());

  const SERVICE = /services\/azora-payment$/;
  const release = record('r0001', {
    action: 'switch',
    colour: 'green',
    version: 'v1.5.1',
    image: `${REPO}/payment:v1.5.1`,
    previous: { colour: 'blue', version: 'v1.5.0', image: `${REPO}/payment:v1.5.0` },
  });

  it('moves the selector and adds the record with one PATCH, and a retry sends nothing', async () => {
    await t.kube.recordRelease('production', 'payment', record('r0000'));
    const before = await t.kube.releases('production', 'payment');
    expect(before.at(-1)).toEqual(record('r0000'));
    const from = t.sim.requests.length;
    const result = await t.kube.switchColour('production', 'payment', 'green', 5_000, release);
    expect(result).toMatchObject({ serviceName: 'azora-payment', from: 'blue', to: 'green', changed: true });
    expect(result.endpoints).toBe(3);
    const sent = t.sim.requests.slice(from).filter((r) => r.method === 'PATCH');
    expect(sent.map((r) => [r.url.split('?')[0], r.status])).toEqual([
      [`/api/v1/namespaces/${PROD}/services/azora-payment`, 200],
    ]);
    const service = t.sim.get('services', PROD, 'azora-payment')!;
    expect((service.spec as { selector: unknown }).selector).toEqual({
      app: 'azora-payment',
      version: 'green',
    });
    expect(parseReleases(annotationsOf(service)[RELEASES_ANNOTATION])).toEqual([...before, release]);

    const again = await t.kube.switchColour('production', 'payment', 'green', 5_000, release);
    expect(again.changed).toBe(false);
    expect(patches(t, SERVICE).length).toBe(2); // the first record's, and the switch
    expect(await t.kube.releases('production', 'payment')).toEqual([...before, release]);
  });

  it('writes the record even when the selector is there already (a retry after the patch, before the record was seen)', async () => {
    await t.kube.switchColour('production', 'payment', 'green', 5_000);
    const before = await t.kube.releases('production', 'payment');
    const result = await t.kube.switchColour('production', 'payment', 'green', 5_000, release);
    expect(result.changed).toBe(false);
    expect(await t.kube.releases('production', 'payment')).toEqual([...before, release]);
  });

  it('changes neither when the colour is not ready', async () => {
    const before = annotationsOf(t.sim.get('services', PROD, 'azora-payment'))[RELEASES_ANNOTATION];
    const { apps } = t.kube.clients('production');
    await apps.patchNamespacedDeployment({
      name: 'azora-payment-green',
      namespace: PROD,
      body: [{ op: 'replace', path: '/spec/replicas', value: 0 }],
    });
    const err = await kubeError(t.kube.switchColour('production', 'payment', 'green', 5_000, release));
    expect(err.kind).toBe('precondition');
    expect(patches(t, SERVICE)).toEqual([]);
    expect(annotationsOf(t.sim.get('services', PROD, 'azora-payment'))[RELEASES_ANNOTATION]).toBe(before);
  });

  it('reads again and patches again on a conflict', async () => {
    const before = await t.kube.releases('production', 'payment');
    t.sim.faults.failNext(1, { method: 'PATCH', status: 409, path: SERVICE, message: 'modified' });
    const result = await t.kube.switchColour('production', 'payment', 'green', 5_000, release);
    expect(result.changed).toBe(true);
    expect(patches(t, SERVICE).map((r) => r.status)).toEqual([409, 200]);
    expect(await t.kube.releases('production', 'payment')).toEqual([...before, release]);
  });

  it('without a release, patches the selector only, as before', async () => {
    const before = annotationsOf(t.sim.get('services', PROD, 'azora-payment'))[RELEASES_ANNOTATION];
    await t.kube.switchColour('production', 'payment', 'green', 5_000);
    const service = t.sim.get('services', PROD, 'azora-payment')!;
    expect((service.spec as { selector: unknown }).selector).toEqual({
      app: 'azora-payment',
      version: 'green',
    });
    expect(annotationsOf(service)[RELEASES_ANNOTATION]).toBe(before);
  });
});

describe('the fake cluster of the unit tests (test/kit/fakes/cluster.ts) answers as the adapter does', () => {
  let t: TestCluster;
  let fake: FakeCluster;
  beforeEach(async () => {
    t = await cluster();
    fake = new FakeCluster(t.policy);
    // The simulated cluster has an HPA on each colour in production; the fake starts without.
    fake.addHpa('production', {
      name: 'azora-payment-green',
      target: 'azora-payment-green',
      min: 3,
      max: 10,
    });
  });
  afterEach(() => t.sim.stop());

  /** What a call came to: its value, or the kind and words of its KubeError. */
  const outcome = <T>(
    promise: Promise<T>,
  ): Promise<{ value: T } | { error: { kind: string; message: string } }> =>
    promise.then(
      (value) => ({ value }),
      (err: unknown) => {
        if (!(err instanceof KubeError)) throw err;
        return { error: { kind: err.kind, message: err.message } };
      },
    );

  /** The same calls on both, compared. */
  async function both<T>(call: (port: ClusterPort) => Promise<T>) {
    const [real, faked] = [await outcome(call(t.kube)), await outcome(call(fake))];
    expect(faked).toEqual(real);
    return real;
  }

  it('refuses the same things in the same words', async () => {
    const refusals = [
      await both((p) => p.setImage('staging', 'auth', 'azora-auth', 'docker.io/someone/auth:v2')),
      await both((p) => p.setImage('staging', 'auth', 'azora-payment', `${REPO}/auth:v2`)),
      await both((p) => p.scaleDeployment('production', 'payment', 'azora-auth-blue', 4)),
      await both((p) => p.probePods('production', 'payment', 'azora-auth-green', '/version')),
      await both((p) => p.probeService('production', 'postgres-replica', '/')),
      await both((p) => p.releases('production', 'postgres-replica')),
      await both((p) => p.recordRelease('staging', 'postgres-replica', record('r0001'))),
    ];
    expect(refusals.map((r) => ('error' in r ? r.error.kind : 'no refusal'))).toEqual(
      refusals.map(() => 'precondition'),
    );
  });

  it('sets an image, idempotently, on the same container, and rolls it out', async () => {
    const current = async (p: ClusterPort) =>
      containersOf(await p.readDeployment('staging', STG, 'azora-auth'))[0]!.image;
    await both(async (p) => p.setImage('staging', 'auth', 'azora-auth', await current(p)));
    await both(async (p) => {
      const before = (await p.serviceState('staging', workloadOf(t.policy, 'staging', 'auth'))).workloads[0]!;
      const result = await p.setImage('staging', 'auth', 'azora-auth', `${REPO}/auth:v9.9.9`);
      const done = await p.waitForRollout('staging', STG, 'azora-auth', 5_000);
      const after = (await p.serviceState('staging', workloadOf(t.policy, 'staging', 'auth'))).workloads[0]!;
      return {
        result,
        image: containersOf(done)[0]!.image,
        revision: after.revision! - before.revision!,
        ready: after.ready,
      };
    });
  });

  it('sizes a colour through its HPA, probes its pods and the Service alike', async () => {
    await both(async (p) => {
      await p.scaleDeployment('production', 'payment', 'azora-payment-green', 5);
      await p.waitForScale('production', 'payment', 'azora-payment-green', 5, 5_000);
      const state = await p.serviceState('production', workloadOf(t.policy, 'production', 'payment'));
      return state.workloads.find((w) => w.colour === 'green')!.hpa;
    });
    await both(async (p) =>
      (await p.probePods('production', 'payment', 'azora-payment-green', '/api/pay/health')).map(
        (a) => a.status,
      ),
    );
    await both(async (p) =>
      (await p.probePods('production', 'payment', 'azora-payment-green', '/nope')).map(
        ({ status, detail }) => ({
          status,
          detail,
        }),
      ),
    );
    await both(async (p) => (await p.probeService('production', 'payment', '/api/pay/health')).status);
    await both((p) => p.probeService('staging', 'auth', '/nope'));
  });

  it('keeps release history alike, the switch’s record included', async () => {
    const release = record('r0002', { action: 'switch', colour: 'green' });
    await both(async (p) => {
      const before = await p.releases('production', 'payment');
      await p.recordRelease('production', 'payment', record('r0001'));
      await p.recordRelease('production', 'payment', record('r0001', { result: 'failed' }));
      const switched = await p.switchColour('production', 'payment', 'green', 5_000, release);
      const after = await p.releases('production', 'payment');
      return { changed: switched.changed, added: after.slice(before.length) };
    });
  });
});
