import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { loadClusterClients } from '../../src/kernel/kubernetes/clients';
import { statusMessage } from '../../src/status/views';
import { KubeError } from '../../src/kernel/kubernetes/errors';
import { Kubernetes } from '../../src/kernel/kubernetes/kubernetes';
import type { Policy } from '../../src/config/policy';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import { PROD, STG } from '../kit/ids';
import { waitFor } from '../kit/wait';

type Obj = { spec?: Record<string, unknown>; metadata?: { annotations?: Record<string, string> } };
const image = (obj: Obj | undefined) =>
  (obj?.spec?.template as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image;

const spec = (obj: { spec?: unknown } | undefined) => (obj?.spec ?? {}) as Record<string, unknown>;

const kubeError = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(KubeError);
    return err as KubeError;
  }
  throw new Error('expected a KubeError');
};

describe('the Kubernetes adapter against the simulated cluster', () => {
  let t: TestCluster;
  beforeEach(async () => {
    t = await startTestCluster();
  });
  afterEach(() => t.sim.stop());

  it('reports an environment: replicas, live colour, HPA bounds, revisions, images', async () => {
    const prod = await t.kube.status('production');
    const gateway = prod.find((s) => s.service === 'api-gateway')!;
    expect(gateway.activeColour).toBe('blue');
    const blue = gateway.workloads.find((w) => w.colour === 'blue')!;
    expect(blue).toMatchObject({
      name: 'azora-api-gateway-blue',
      desired: 3,
      ready: 3,
      hpa: { min: 3, max: 10 },
    });
    expect(blue.image).toMatch(/api-gateway:v1\.5\.0$/);
    expect(prod.find((s) => s.service === 'postgres-replica')!.workloads[0]).toMatchObject({
      kind: 'statefulset',
    });

    const staging = await t.kube.status('staging');
    expect(staging.find((s) => s.service === 'payment')!.workloads[0]).toMatchObject({
      name: 'azora-payment',
      desired: 2,
      revision: 3,
    });
  });

  it('scales a deployment without an HPA by its replicas', async () => {
    const result = await t.kube.scale('staging', 'auth', 4);
    expect(result).toEqual({ target: 'azora-auth', kind: 'deployment', before: 2, after: 4 });
    await t.kube.waitForScale('staging', 'auth', 'azora-auth', 4, 5_000);
    expect(spec(t.sim.get('deployments', STG, 'azora-auth')).replicas).toBe(4);
  });

  it('moves the HPA bounds instead of fighting the autoscaler', async () => {
    const result = await t.kube.scale('production', 'api-gateway', 5);
    expect(result.hpa).toEqual({
      name: 'azora-api-gateway-blue',
      before: { min: 3, max: 10 },
      after: { min: 5, max: 10 },
    });
    await t.kube.waitForScale('production', 'api-gateway', 'azora-api-gateway-blue', 5, 5_000);
    expect(t.sim.get('hpa', PROD, 'azora-api-gateway-blue')!.spec).toMatchObject({
      minReplicas: 5,
      maxReplicas: 10,
    });
    expect(spec(t.sim.get('deployments', PROD, 'azora-api-gateway-blue')).replicas).toBe(5);
  });

  it('refuses to scale a pinned workload that is not the live one any more, changing nothing', async () => {
    const err = await kubeError(t.kube.scale('production', 'payment', 5, 'azora-payment-green'));
    expect(err).toMatchObject({
      kind: 'precondition',
      message: 'payment in production runs on azora-payment-blue now, not azora-payment-green',
    });
    expect(spec(t.sim.get('deployments', PROD, 'azora-payment-green')).replicas).not.toBe(5);
    expect(spec(t.sim.get('deployments', PROD, 'azora-payment-blue')).replicas).not.toBe(5);
  });

  it('scales a statefulset through its scale subresource', async () => {
    await t.kube.scale('production', 'postgres-replica', 3);
    await t.sim.settle();
    expect(spec(t.sim.get('statefulsets', PROD, 'postgres-replica')).replicas).toBe(3);
  });

  it('switches blue/green only to a ready colour, and waits for the endpoints to follow', async () => {
    const result = await t.kube.switchColour('production', 'payment', 'green', 5_000);
    expect(result).toMatchObject({ serviceName: 'azora-payment', from: 'blue', to: 'green', changed: true });
    expect(result.endpoints).toBeGreaterThan(0);
    expect(spec(t.sim.get('services', PROD, 'azora-payment')).selector).toEqual({
      app: 'azora-payment',
      version: 'green',
    });

    const again = await t.kube.switchColour('production', 'payment', 'green', 5_000);
    expect(again.changed).toBe(false);
  });

  it('refuses to switch to a colour that is not fully available, and changes nothing', async () => {
    await t.kube.scale('production', 'auth', 3);
    const { apps } = t.kube.clients('production');
    await apps.patchNamespacedDeployment({
      name: 'azora-auth-green',
      namespace: PROD,
      body: [{ op: 'replace', path: '/spec/replicas', value: 0 }],
    });
    const err = await kubeError(t.kube.switchColour('production', 'auth', 'green'));
    expect(err.kind).toBe('precondition');
    expect(err.message).toBe('not switching auth to green: azora-auth-green has 0 replicas');
    expect(spec(t.sim.get('services', PROD, 'azora-auth')).selector).toMatchObject({ version: 'blue' });
  });

  it('plans and applies a rollback like kubectl rollout undo, once', async () => {
    const target = await t.kube.planRollback('staging', 'payment');
    expect(target).toMatchObject({
      kind: 'revision',
      deployment: 'azora-payment',
      fromRevision: 3,
      toRevision: 2,
    });
    if (target.kind !== 'revision') throw new Error('expected a revision target');
    expect(target.toImage).toMatch(/payment:v1\.4\.1$/);

    expect(await t.kube.applyRollback('staging', 'payment', target)).toEqual({ changed: true });
    const rolledBack = await t.kube.waitForRollout('staging', STG, 'azora-payment', 5_000);
    expect(image(rolledBack as Obj)).toBe(target.toImage);
    expect(rolledBack.metadata!.annotations!['deployment.kubernetes.io/revision']).toBe('4');

    // A retried job with the same pinned target must not roll back a second time.
    expect(await t.kube.applyRollback('staging', 'payment', target)).toEqual({ changed: false });
    await t.sim.settle();
    expect(image(t.sim.get('deployments', STG, 'azora-payment') as Obj)).toBe(target.toImage);
  });

  it('rolls back to an exact revision, and refuses unknown revisions and paused deployments', async () => {
    const exact = await t.kube.planRollback('staging', 'auth', 1);
    expect(exact).toMatchObject({ toRevision: 1 });
    expect((await kubeError(t.kube.planRollback('staging', 'auth', 9))).message).toBe(
      'deployment azora-auth has no revision 9 (revisions: 3, 2, 1)',
    );
    // The revision it runs: nothing to undo, as kubectl says ("skipped rollback").
    const running = await kubeError(t.kube.planRollback('staging', 'auth', 3));
    expect(running.kind).toBe('precondition');
    expect(running.message).toBe('deployment azora-auth already runs revision 3; nothing to roll back to');
    const { apps } = t.kube.clients('staging');
    await apps.patchNamespacedDeployment({
      name: 'azora-auth',
      namespace: STG,
      body: [{ op: 'add', path: '/spec/paused', value: true }],
    });
    expect((await kubeError(t.kube.planRollback('staging', 'auth'))).message).toMatch(/is paused; resume it/);
  });

  it('plans a blue/green rollback as a switch back to the other colour', async () => {
    expect(await t.kube.planRollback('production', 'education')).toEqual({
      kind: 'colour',
      serviceName: 'azora-education',
      from: 'blue',
      to: 'green',
    });
  });

  it('reads logs across the live pods, newest last, filtered and redacted', async () => {
    const { pods, lines } = await t.kube.logs('production', 'payment', { lines: 50 });
    expect(pods.length).toBe(3);
    expect(pods.every((p) => p.startsWith('azora-payment-blue-'))).toBe(true);
    expect(lines.length).toBe(50);
    const times = lines.map((l) => l.time);
    expect([...times].sort()).toEqual(times);
    expect(new Set(lines.map((l) => l.pod)).size).toBeGreaterThan(1);
    const all = (await t.kube.logs('production', 'payment', { lines: 1000 })).lines
      .map((l) => l.text)
      .join('\n');
    expect(all).not.toMatch(/password=(?!\[redacted\])/);
    expect(all).not.toMatch(/Bearer (?!\[redacted\])[A-Za-z0-9]/);

    const errors = await t.kube.logs('production', 'payment', { lines: 5, grep: 'error' });
    expect(errors.lines.length).toBeGreaterThan(0);
    expect(errors.lines.every((l) => l.text.toLowerCase().includes('error'))).toBe(true);
  });

  it('drops terminal colours before the redaction, which then sees a coloured key', async () => {
    // A line every 20 ms, so that the new pods soon have a coloured one among theirs.
    await t.sim.stop();
    t = await startTestCluster({ logIntervalMs: 20 });
    // A container with a terminal: its logging library colours logfmt keys.
    await t.kube.clients('staging').apps.patchNamespacedDeployment({
      name: 'azora-education',
      namespace: STG,
      body: [{ op: 'add', path: '/spec/template/spec/containers/0/tty', value: true }],
    });
    await t.kube.waitForRollout('staging', STG, 'azora-education', 5_000);
    // One line in 37 or so is the coloured one.
    const all = await waitFor(
      async () =>
        (await t.kube.logs('staging', 'education', { lines: 1000 })).lines.map((l) => l.text).join('\n'),
      (text) => text.includes('retrying upstream call'),
      { what: 'a coloured line', timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(all).toContain('retrying upstream call service=education token=[redacted]');
    expect(all).not.toContain('sk_live');
    // eslint-disable-next-line no-control-regex -- no escape byte is left
    expect(all).not.toMatch(/\x1b/);
    const grep = await t.kube.logs('staging', 'education', { lines: 5, grep: 'WARN[' });
    expect(grep.lines.length).toBeGreaterThan(0);
  });

  it('follows logs for a bounded time', async () => {
    const seen: string[] = [];
    await t.sim.stop();
    t = await startTestCluster({ logIntervalMs: 20 });
    const { pods } = await t.kube.followLogs('staging', 'auth', { durationMs: 300 }, (line) =>
      seen.push(line.text),
    );
    expect(pods.length).toBeGreaterThan(0);
    expect(seen.length).toBeGreaterThan(0);
    // The adapter closed every pod's stream: the simulated API records a request when it closes.
    const closed = () => t.sim.requests.filter((r) => /\/log\?.*follow=true/.test(r.url)).length;
    await waitFor(closed, (n) => n === pods.length, { what: 'every followed stream closed' });
  });

  it('follows a pod again when its container restarts, from its last line, without repeats', async () => {
    const seen: { pod: string; time: string }[] = [];
    // Long enough for two looks for pods (every 3 s), on a loaded machine too.
    const follow = t.kube.followLogs('staging', 'auth', { durationMs: 7_000 }, (line) => seen.push(line));
    const { pod } = (await waitFor(() => seen[0], Boolean, { what: 'a first line' }))!;
    t.sim.restartContainers(STG, pod);
    const status = t.sim.get('pods', STG, pod)!.status as {
      containerStatuses: { restartCount: number; state: { running: { startedAt: string } } }[];
    };
    expect(status.containerStatuses[0]!.restartCount).toBe(1);
    const restartedAt = Date.parse(status.containerStatuses[0]!.state.running.startedAt);
    // The kubelet ended the pod's stream; its next look follows the new container.
    await waitFor(
      () => seen.filter((l) => l.pod === pod && Date.parse(l.time) >= restartedAt).length,
      (n) => n > 0,
      { what: 'a line of the restarted container', timeoutMs: 8_000 },
    );
    const { pods } = await follow;
    expect(pods).toContain(pod);
    const lines = seen.map((l) => `${l.pod} ${l.time}`);
    expect(new Set(lines).size).toBe(lines.length);
    // Recorded as each closes: the first when the kubelet ended it, the second at the follow's end.
    const streams = () =>
      t.sim.requests.filter((r) => r.url.startsWith(`/api/v1/namespaces/${STG}/pods/${pod}/log?`));
    await waitFor(
      () => streams().length,
      (n) => n >= 2,
      { what: 'two streams of the restarted pod' },
    );
    expect(streams()).toHaveLength(2);
    // The second from the first's last second on.
    expect(new URL(streams()[1]!.url, 'http://x').searchParams.get('sinceTime')).toMatch(/:\d\dZ$/);
  });

  it('follows only the lines the pods write once it has started, not their history', async () => {
    const started = Date.now();
    const times: number[] = [];
    const { pods } = await t.kube.followLogs('staging', 'auth', { durationMs: 1_500 }, (line) =>
      times.push(Date.parse(line.time)),
    );
    expect(times.length).toBeGreaterThan(0);
    // The pods have logged for days: a line from before the follow is history.
    expect(times.filter((at) => at < started - 1_000)).toEqual([]);
    expect(pods.length).toBeGreaterThan(1);
  });

  it('follows the pods that come up while it runs, as a rollout or a crash replaces them', async () => {
    const { pods: before } = await t.kube.podsOf('staging', 'auth');
    const seen = new Set<string>();
    const following = t.kube.followLogs('staging', 'auth', { durationMs: 7_000 }, (line) =>
      seen.add(line.pod),
    );
    // Its streams are open: the pod that comes up next is one it did not list.
    await waitFor(
      () => t.sim.openStreams,
      (n) => n === before.length,
      { what: 'the follow streaming every pod' },
    );
    const config = new KubeConfig();
    t.load(config);
    await config.makeApiClient(CoreV1Api).deleteNamespacedPod({ name: before[0]!, namespace: STG });
    const followed = await following;
    const replacements = [...seen].filter((pod) => !before.includes(pod));
    expect(replacements).toHaveLength(1);
    expect(followed.pods).toEqual(expect.arrayContaining([...before, ...replacements]));
  });

  it("follows every pod's log when the API server cut the connection a stream went out on", async () => {
    const followed = (pod: string) => new RegExp(`/pods/${pod}/log\\?.*follow=true`);
    const { pods } = await t.kube.podsOf('staging', 'auth');
    expect(pods.length).toBeGreaterThan(1);
    const first = pods[0]!;
    t.sim.faults.dropNext(1, { path: followed(first) });
    const once = await t.kube.followLogs('staging', 'auth', { durationMs: 300 }, () => undefined);
    // Asked again on a new connection, and followed like the others (else it would be named).
    expect(once.unreadable).toEqual([]);

    // Cut twice in a row: the API is not there for that pod. The others are followed all
    // the same, and the pod left out is named.
    await waitFor(
      () => t.sim.openStreams,
      (n) => n === 0,
      { what: 'the earlier follows closed' },
    );
    t.sim.faults.dropNext(2, { path: followed(first) });
    const twice = await t.kube.followLogs('staging', 'auth', { durationMs: 300 }, () => undefined);
    expect(twice.unreadable).toEqual([
      `following logs of ${first}: the Kubernetes API is unreachable (no answer to the log request of ${first})`,
    ]);
    await waitFor(
      () => t.sim.openStreams,
      (n) => n === 0,
      { what: "the other pods' streams closed" },
    );
  });

  it('checks the health path through the service proxy', async () => {
    const healthy = await t.kube.health('production', 'payment');
    expect(healthy).toMatchObject({ ok: true, path: '/api/pay/health' });
    expect(JSON.parse(healthy.detail)).toMatchObject({ status: 'ok', service: 'payment' });
    t.sim.setHealthy(PROD, 'azora-payment-blue', false);
    const sick = await t.kube.health('production', 'payment');
    expect(sick).toMatchObject({ ok: false, path: '/api/pay/health' });
    expect(sick.detail).toMatch(/503/);
  });

  it("makes one cluster's calls over one connection, not a new TLS connection each", async () => {
    const before = t.sim.connectionsAccepted;
    for (let i = 0; i < 12; i++) {
      const deployment = await t.kube.readDeployment('production', PROD, 'azora-payment-blue');
      expect(deployment.metadata?.name).toBe('azora-payment-blue');
    }
    // client-node alone opens one per call (twelve here); undici's pool may open a second.
    expect(t.sim.connectionsAccepted - before).toBeLessThanOrEqual(2);
  });

  it('sends a call once more, on a new connection, when the API server cut the one it went out on', async () => {
    const path = /deployments\/azora-payment-blue$/;
    const read = () => t.kube.readDeployment('production', PROD, 'azora-payment-blue');
    t.sim.faults.dropNext(1, { path });
    expect((await read()).metadata?.name).toBe('azora-payment-blue');
    // Cut twice in a row: the API is not there, and the call says so.
    t.sim.faults.dropNext(2, { path });
    const err = await kubeError(read());
    expect(err.message).toMatch(/the Kubernetes API is unreachable \((UND_ERR_SOCKET|ECONNRESET)\)/);
    expect((await read()).metadata?.name).toBe('azora-payment-blue');
  });

  it('names a missing deployment', async () => {
    const policy: Policy = JSON.parse(JSON.stringify(t.policy));
    policy.services['ghost'] = {
      deployment: 'azora-ghost',
      port: 1,
      replicas: { min: 1, max: 2 },
      environments: {},
      smoke: [],
      stagingFirst: true,
    };
    const kube = new Kubernetes(policy, loadClusterClients(policy, t.load));
    const err = await kubeError(kube.scale('staging', 'ghost', 2));
    expect(err.kind).toBe('not-found');
    expect(err.message).toMatch(/^reading deployment azora-ghost in azora-staging: not found/);
  });
});

describe('the adapter when the API misbehaves', () => {
  let t: TestCluster;
  beforeAll(async () => {
    t = await startTestCluster({ requestTimeoutMs: 300 });
  });
  afterAll(() => t.sim.stop());
  afterEach(() => t.sim.faults.clear());

  it('reports a 500 as unavailable and transient', async () => {
    t.sim.faults.failNext(1, { path: /deployments\/azora-auth$/ });
    const err = await kubeError(t.kube.scale('staging', 'auth', 3));
    expect(err).toMatchObject({ kind: 'unavailable', transient: true, status: 500 });
  });

  it('gives up on a request that hangs, as a timeout', async () => {
    t.sim.faults.hangNext(1, 2_000, { path: /deployments\/azora-auth$/ });
    const err = await kubeError(t.kube.readDeployment('staging', STG, 'azora-auth'));
    // Had the client waited, the simulated API would have answered after 2 s, and no error.
    expect(err.kind).toBe('timeout');
  });

  it('reports an API that is down as unreachable', async () => {
    await t.sim.faults.stopListening();
    try {
      const err = await kubeError(t.kube.readDeployment('staging', STG, 'azora-auth'));
      expect(err.kind).toBe('unavailable');
      expect(err.message).toMatch(/unreachable \(ECONNREFUSED\)/);
    } finally {
      await t.sim.faults.startListening();
    }
  });

  it('reports a forbidden call with what to grant', async () => {
    await t.sim.stop();
    t = await startTestCluster({
      identities: {
        'reader-token': {
          name: 'reader',
          rules: [
            { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list'] },
            { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['list'] },
          ],
        },
      },
      token: 'reader-token',
    });
    const err = await kubeError(t.kube.scale('staging', 'auth', 3));
    expect(err.kind).toBe('forbidden');
    expect(err.message).toMatch(/cannot patch resource "deployments\/scale".*grant it in the chart's Role/);
  });
});

describe('logs and status in the middle of a rollout, and with a service half gone', () => {
  let t: TestCluster;
  beforeAll(async () => {
    // New pods stay ContainerCreating for the whole test: their logs cannot be read yet.
    t = await startTestCluster({ readyDelayMs: 60_000 });
  });
  afterAll(() => t.sim.stop());

  it('reads the pods that run, and names those that cannot be read yet, with why', async () => {
    const before = (await t.kube.podsOf('staging', 'payment')).pods;
    await t.kube.setImage('staging', 'payment', 'azora-payment', 'registry.azora.world/azora/payment:v9.9.9');
    const during = await waitFor(
      async () => (await t.kube.podsOf('staging', 'payment')).pods,
      (pods) => pods.some((p) => !before.includes(p)),
      { what: 'the new pods listed' },
    );
    const starting = during.filter((p) => !before.includes(p));

    const read = await t.kube.logs('staging', 'payment', { lines: 20 });
    expect(read.lines.length).toBeGreaterThan(0);
    expect(new Set(read.lines.map((l) => l.pod))).toEqual(new Set(during.filter((p) => before.includes(p))));
    expect(read.unreadable).toHaveLength(starting.length);
    expect(read.unreadable[0]).toMatch(
      /^reading logs of azora-payment-.*: the cluster refused it \(.*is waiting to start: ContainerCreating\)$/,
    );

    const followed = await t.kube.followLogs('staging', 'payment', { durationMs: 200 }, () => undefined);
    expect(followed.unreadable).toHaveLength(starting.length);

    // The status does not call it green on the new version while old pods serve.
    const payment = (await t.kube.status('staging')).find((s) => s.service === 'payment')!;
    const shown = JSON.stringify(statusMessage('staging', STG, [payment], [], []));
    expect(shown).toContain(':large_yellow_circle:');
    expect(shown).toMatch(/\*rolling out\*: \d+ of \d+ pods updated, \d+ old still running/);
  });

  it('shows every service it can read, and why one could not be', async () => {
    const config = new KubeConfig();
    t.load(config);
    await config
      .makeApiClient(AppsV1Api)
      .deleteNamespacedDeployment({ name: 'azora-education', namespace: STG });
    const services = await t.kube.status('staging');
    expect(services.find((s) => s.service === 'education')).toMatchObject({
      workloads: [],
      problem: expect.stringMatching(/^reading deployment azora-education in azora-staging: not found/),
    });
    expect(services.filter((s) => s.workloads.length > 0).map((s) => s.service)).toEqual(
      expect.arrayContaining(['api-gateway', 'auth', 'payment']),
    );
    expect(JSON.stringify(statusMessage('staging', STG, services, [], []))).toContain(
      '*education*\\n:warning: could not be read: reading deployment azora-education',
    );
  });
});
