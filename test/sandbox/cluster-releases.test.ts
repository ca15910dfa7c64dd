import {
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Container,
} from '@kubernetes/client-node';
import {
  GREEN_VERSION,
  LIVE_VERSION,
  type ClusterAlert,
  type KubeObject,
  type SimulatedCluster,
} from '../../sandbox/cluster';
import { waitFor } from '../kit/wait';
import {
  apiFailure,
  httpKubeConfig,
  PRODUCTION,
  REVISION,
  STAGING,
  startCluster,
  type StatusBody,
} from './helpers';

const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** client-node types proxy answers as string but hands over the parsed JSON body. */
function json(body: unknown): unknown {
  return typeof body === 'string' ? JSON.parse(body) : body;
}

const image = (service: string, version: string) => `registry.azora.world/azora/${service}:${version}`;

/** What `kubectl set image deployment/<name> <container>=<image>` sends. */
function setImagePatch(container: string, to: string): object {
  return {
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: container }],
          containers: [{ name: container, image: to }],
        },
      },
    },
  };
}

function podsOf(cluster: SimulatedCluster, namespace: string, labels: Record<string, string>): KubeObject[] {
  return cluster
    .list('pods', namespace)
    .filter((p) => Object.entries(labels).every(([k, v]) => p.metadata.labels?.[k] === v))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

function podImage(pod: KubeObject | undefined): string | undefined {
  return (pod?.spec as { containers?: Array<{ image?: string }> } | undefined)?.containers?.[0]?.image;
}

/** A raw request as the bot's pod proxy call makes it, for status codes and bodies client-node hides. */
async function raw(
  cluster: SimulatedCluster,
  path: string,
  init: { method?: string; token?: string } = {},
): Promise<{ status: number; text: string; contentType: string | null }> {
  const res = await fetch(`${cluster.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${init.token ?? cluster.adminToken}` },
  });
  return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') };
}

const podProxy = (namespace: string, pod: string, path: string) =>
  `/api/v1/namespaces/${namespace}/pods/${pod}/proxy/${path}`;

describe('the pod proxy and the simulated app', () => {
  let cluster: SimulatedCluster;
  let kc: KubeConfig;
  let core: CoreV1Api;

  beforeAll(async () => {
    cluster = await startCluster({
      identities: {
        'proxy-token': {
          name: 'prober',
          rules: [{ apiGroups: [''], resources: ['pods/proxy'], verbs: ['get'], namespaces: [PRODUCTION] }],
        },
        'pods-token': {
          name: 'reader',
          rules: [{ apiGroups: [''], resources: ['pods', 'services/proxy'], verbs: ['get', 'list'] }],
        },
      },
    });
    kc = httpKubeConfig(cluster);
    core = kc.makeApiClient(CoreV1Api);
  });

  afterAll(async () => {
    await cluster.stop();
  });

  const bluePayment = () => podsOf(cluster, PRODUCTION, { app: 'azora-payment', version: 'blue' })[0]!;
  const greenPayment = () => podsOf(cluster, PRODUCTION, { app: 'azora-payment', version: 'green' })[0]!;

  it("answers the health path as the pod's app, with or without the port", async () => {
    const pod = bluePayment().metadata.name;
    for (const name of [pod, `${pod}:3003`, `${pod}:http`]) {
      const ok = await core.connectGetNamespacedPodProxyWithPath({
        name,
        namespace: PRODUCTION,
        path: 'api/pay/health',
      });
      expect(json(ok)).toEqual({
        status: 'ok',
        service: 'payment',
        version: LIVE_VERSION,
        pod,
        port: 3003,
        uptimeSeconds: expect.any(Number) as number,
      });
    }
    // The idle colour takes no traffic through the Service, but its pods answer directly.
    const idle = greenPayment().metadata.name;
    const green = await core.connectGetNamespacedPodProxyWithPath({
      name: `${idle}:3003`,
      namespace: PRODUCTION,
      path: 'api/pay/health',
    });
    expect(json(green)).toMatchObject({ status: 'ok', version: GREEN_VERSION, pod: idle });
  });

  it('answers GET /version with the service and version, and 404 for anything else', async () => {
    const pod = greenPayment().metadata.name;
    const version = await core.connectGetNamespacedPodProxyWithPath({
      name: `${pod}:3003`,
      namespace: PRODUCTION,
      path: 'version',
    });
    expect(json(version)).toEqual({ service: 'payment', version: GREEN_VERSION });

    const missing = await raw(cluster, podProxy(PRODUCTION, `${pod}:3003`, 'api/pay/nope'));
    expect(missing).toMatchObject({ status: 404, text: 'Cannot GET /api/pay/nope\n' });
    const post = await raw(cluster, podProxy(PRODUCTION, `${pod}:3003`, 'version'), { method: 'POST' });
    expect(post).toMatchObject({ status: 404, text: 'Cannot POST /version\n' });

    const head = await raw(cluster, podProxy(PRODUCTION, `${pod}:3003`, 'api/pay/health'), {
      method: 'HEAD',
    });
    expect(head).toMatchObject({ status: 200, text: '', contentType: 'application/json' });

    // The Service proxy is the same app.
    const viaService = await core.connectGetNamespacedServiceProxyWithPath({
      name: 'azora-payment:3003',
      namespace: PRODUCTION,
      path: 'version',
    });
    expect(json(viaService)).toEqual({ service: 'payment', version: LIVE_VERSION });
  });

  it('answers 503 from a pod whose workload is unhealthy, and only from its pods', async () => {
    cluster.setHealthy(PRODUCTION, 'azora-payment-blue', false);
    try {
      const blue = await raw(
        cluster,
        podProxy(PRODUCTION, `${bluePayment().metadata.name}:3003`, 'api/pay/health'),
      );
      expect(blue.status).toBe(503);
      expect(JSON.parse(blue.text)).toMatchObject({
        status: 'error',
        service: 'payment',
        version: LIVE_VERSION,
      });
      const green = await raw(
        cluster,
        podProxy(PRODUCTION, `${greenPayment().metadata.name}:3003`, 'api/pay/health'),
      );
      expect(green.status).toBe(200);
      // /version does not depend on health.
      const version = await raw(cluster, podProxy(PRODUCTION, bluePayment().metadata.name, 'version'));
      expect(version.status).toBe(200);
    } finally {
      cluster.setHealthy(PRODUCTION, 'azora-payment-blue', true);
    }
  });

  it('answers 404 for a pod that does not exist and 503 for a port nothing listens on, as the API server', async () => {
    const missing = await apiFailure(
      core.connectGetNamespacedPodProxyWithPath({ name: 'nope-0', namespace: PRODUCTION, path: 'version' }),
    );
    expect(missing.code).toBe(404);
    expect(missing.status).toMatchObject({ reason: 'NotFound', message: 'pods "nope-0" not found' });

    const pod = bluePayment();
    const ip = (pod.status as { podIP: string }).podIP;
    const closed = await raw(cluster, podProxy(PRODUCTION, `${pod.metadata.name}:9999`, 'version'));
    expect(closed.status).toBe(503);
    expect(JSON.parse(closed.text) as StatusBody).toMatchObject({
      kind: 'Status',
      reason: 'ServiceUnavailable',
      message: `error trying to reach service: dial tcp ${ip}:9999: connect: connection refused`,
    });
  });

  it('authorizes pods/proxy with the verb of the method, as the API server maps it', async () => {
    const pod = bluePayment().metadata.name;
    const allowed = await raw(cluster, podProxy(PRODUCTION, pod, 'version'), { token: 'proxy-token' });
    expect(allowed.status).toBe(200);
    const head = await raw(cluster, podProxy(PRODUCTION, pod, 'version'), {
      method: 'HEAD',
      token: 'proxy-token',
    });
    expect(head.status).toBe(200);

    const post = await raw(cluster, podProxy(PRODUCTION, pod, 'version'), {
      method: 'POST',
      token: 'proxy-token',
    });
    expect(post.status).toBe(403);
    expect((JSON.parse(post.text) as StatusBody).message).toBe(
      `pods "${pod}" is forbidden: User "prober" cannot create resource "pods/proxy" in API group "" in the namespace "${PRODUCTION}"`,
    );
    const staging = podsOf(cluster, STAGING, { app: 'azora-payment' })[0]!.metadata.name;
    const elsewhere = await raw(cluster, podProxy(STAGING, `${staging}:3003`, 'version'), {
      token: 'proxy-token',
    });
    expect(elsewhere.status).toBe(403);

    // Reading pods (and proxying to services) is not proxying to pods; the name is the bare pod name.
    const reader = await raw(cluster, podProxy(PRODUCTION, `${pod}:3003`, 'version'), {
      token: 'pods-token',
    });
    expect(reader.status).toBe(403);
    expect((JSON.parse(reader.text) as StatusBody).message).toBe(
      `pods "${pod}" is forbidden: User "reader" cannot get resource "pods/proxy" in API group "" in the namespace "${PRODUCTION}"`,
    );
  });

  it('announces pods/proxy in discovery', async () => {
    const list = JSON.parse((await raw(cluster, '/api/v1')).text) as {
      resources: Array<{ name: string; kind: string; verbs: string[] }>;
    };
    expect(list.resources.find((r) => r.name === 'pods/proxy')).toEqual(
      expect.objectContaining({
        kind: 'PodProxyOptions',
        verbs: expect.arrayContaining(['get']) as string[],
      }),
    );
  });
});

describe('rollouts of new images', () => {
  let cluster: SimulatedCluster;
  let apps: AppsV1Api;
  let core: CoreV1Api;

  beforeAll(async () => {
    // Pods take a moment to become Ready, so a rollout is seen in progress before it completes.
    cluster = await startCluster({ readyDelayMs: 30 });
    const kc = httpKubeConfig(cluster);
    apps = kc.makeApiClient(AppsV1Api);
    core = kc.makeApiClient(CoreV1Api);
  });

  afterAll(async () => {
    await cluster.stop();
  });

  const converged = (namespace: string, name: string) =>
    waitFor(
      () => apps.readNamespacedDeployment({ name, namespace }),
      (d) =>
        d.status?.observedGeneration === d.metadata?.generation &&
        d.status?.updatedReplicas === d.spec?.replicas &&
        d.status?.replicas === d.spec?.replicas &&
        d.status?.availableReplicas === d.spec?.replicas,
      { what: `${namespace}/${name} to roll out` },
    );

  it('rolls out what `kubectl set image` sends (a strategic merge patch): new ReplicaSet, new pods, status', async () => {
    const name = 'azora-payment';
    const before = await apps.readNamespacedDeployment({ name, namespace: STAGING });
    const to = image('payment', 'v1.6.0');
    await apps.patchNamespacedDeployment(
      { name, namespace: STAGING, body: setImagePatch('payment', to) },
      strategicPatch,
    );
    const progressing = await apps.readNamespacedDeployment({ name, namespace: STAGING });
    expect(progressing.metadata?.generation).toBe((before.metadata?.generation ?? 0) + 1);

    const after = await converged(STAGING, name);
    expect(after.metadata?.annotations?.[REVISION]).toBe('4');
    expect(after.status?.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe(
      'NewReplicaSetAvailable',
    );
    // Only the image changed: the probe, the ports and the env are the template's.
    const container = after.spec?.template.spec?.containers[0] as V1Container;
    expect(container.image).toBe(to);
    expect(container.readinessProbe?.httpGet?.path).toBe('/api/pay/health');
    expect(container.ports?.[0]?.containerPort).toBe(3003);

    const pods = podsOf(cluster, STAGING, { app: name });
    expect(pods).toHaveLength(2);
    expect(pods.every((p) => podImage(p) === to)).toBe(true);
    const sets = await apps.listNamespacedReplicaSet({ namespace: STAGING, labelSelector: `app=${name}` });
    expect(
      sets.items
        .filter((rs) => (rs.spec?.replicas ?? 0) > 0)
        .map((rs) => rs.spec?.template?.spec?.containers[0]?.image),
    ).toEqual([to]);

    const version = await core.connectGetNamespacedServiceProxyWithPath({
      name,
      namespace: STAGING,
      path: 'version',
    });
    expect(json(version)).toEqual({ service: 'payment', version: 'v1.6.0' });
  });

  it('rolls out a merge patch of the template, on the idle colour of a blue/green service', async () => {
    const name = 'azora-payment-green';
    const current = await apps.readNamespacedDeployment({ name, namespace: PRODUCTION });
    const containers = structuredClone(current.spec?.template.spec?.containers ?? []);
    containers[0]!.image = image('payment', 'v1.6.0');
    await apps.patchNamespacedDeployment(
      {
        name,
        namespace: PRODUCTION,
        body: { spec: { replicas: 4, template: { spec: { containers } } } },
      },
      mergePatch,
    );
    const after = await converged(PRODUCTION, name);
    expect(after.status).toMatchObject({
      replicas: 4,
      updatedReplicas: 4,
      readyReplicas: 4,
      availableReplicas: 4,
    });
    expect(after.metadata?.annotations?.[REVISION]).toBe('3');
    const pods = podsOf(cluster, PRODUCTION, { app: 'azora-payment', version: 'green' });
    expect(pods.map(podImage)).toEqual(Array(4).fill(image('payment', 'v1.6.0')));
    // The live colour and the Service are untouched.
    expect(podsOf(cluster, PRODUCTION, { app: 'azora-payment', version: 'blue' }).map(podImage)).toEqual(
      Array(3).fill(image('payment', LIVE_VERSION)),
    );
  });

  it.each([
    ['a date and build tag', 'registry.azora.world/azora/auth:2026.01.05-rc.1_b7', '2026.01.05-rc.1_b7'],
    ['a digest', `registry.azora.world/azora/auth@sha256:${'ab12'.repeat(16)}`, `sha256:${'ab12'.repeat(3)}`],
  ])('rolls out any image reference: %s', async (_what, to, version) => {
    const name = 'azora-auth';
    await apps.patchNamespacedDeployment(
      { name, namespace: STAGING, body: setImagePatch('auth', to) },
      strategicPatch,
    );
    await converged(STAGING, name);
    const pods = podsOf(cluster, STAGING, { app: name });
    expect(pods.map(podImage)).toEqual([to, to]);
    const answer = await core.connectGetNamespacedPodProxyWithPath({
      name: pods[0]!.metadata.name,
      namespace: STAGING,
      path: 'version',
    });
    expect(json(answer)).toEqual({ service: 'auth', version });
  });
});

describe('a pod that is not ready yet', () => {
  let cluster: SimulatedCluster;

  beforeAll(async () => {
    cluster = await startCluster({ readyDelayMs: 60_000 });
  });

  afterAll(async () => {
    await cluster.stop();
  });

  it('answers 503 through the pod proxy, like a pod whose app does not listen yet', async () => {
    const core = httpKubeConfig(cluster).makeApiClient(CoreV1Api);
    const apps = httpKubeConfig(cluster).makeApiClient(AppsV1Api);
    const before = new Set(podsOf(cluster, STAGING, { app: 'azora-auth' }).map((p) => p.metadata.name));
    await apps.patchNamespacedDeploymentScale(
      { name: 'azora-auth', namespace: STAGING, body: { spec: { replicas: 3 } } },
      mergePatch,
    );
    const pending = await waitFor(
      () => podsOf(cluster, STAGING, { app: 'azora-auth' }).filter((p) => !before.has(p.metadata.name)),
      (pods) => pods.length === 1,
      { what: 'the new pod' },
    );
    const pod = pending[0]!;
    expect((pod.status as { phase: string }).phase).toBe('Pending');
    const failure = await apiFailure(
      core.connectGetNamespacedPodProxyWithPath({
        name: `${pod.metadata.name}:3001`,
        namespace: STAGING,
        path: 'api/auth/health',
      }),
    );
    expect(failure.code).toBe(503);
    expect(failure.status).toMatchObject({
      reason: 'ServiceUnavailable',
      message: `error trying to reach service: dial tcp ${(pod.status as { podIP: string }).podIP}:3001: connect: connection refused`,
    });
  });
});

describe('a `-bad` version', () => {
  const FAIL_AFTER_MS = 10_000;
  let now = Date.parse('2026-03-02T10:00:00Z');
  let cluster: SimulatedCluster;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  const alerts: ClusterAlert[] = [];

  beforeAll(async () => {
    // The cluster's own clock: the test moves it, nothing sleeps.
    cluster = await startCluster({
      clock: () => now,
      badVersionFailAfterMs: FAIL_AFTER_MS,
      logIntervalMs: 1_000,
    });
    cluster.onAlert((alert) => alerts.push(alert));
    const kc = httpKubeConfig(cluster);
    apps = kc.makeApiClient(AppsV1Api);
    core = kc.makeApiClient(CoreV1Api);
  });

  afterAll(async () => {
    await cluster.stop();
  });

  const health = async (namespace: string, pod: KubeObject, path: string) => {
    const res = await raw(cluster, podProxy(namespace, pod.metadata.name, path.slice(1)));
    return { status: res.status, body: JSON.parse(res.text) as Record<string, unknown> };
  };
  const select = async (colour: 'blue' | 'green') => {
    await core.patchNamespacedService(
      { name: 'azora-payment', namespace: PRODUCTION, body: { spec: { selector: { version: colour } } } },
      strategicPatch,
    );
    await cluster.settle();
  };
  const logs = async (pod: KubeObject): Promise<Array<Record<string, unknown>>> =>
    (await core.readNamespacedPodLog({ name: pod.metadata.name, namespace: pod.metadata.namespace ?? '' }))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it('comes up Ready and healthy on the idle colour, where it takes no traffic', async () => {
    await apps.patchNamespacedDeployment(
      {
        name: 'azora-payment-green',
        namespace: PRODUCTION,
        body: setImagePatch('payment', image('payment', 'v1.6.0-bad')),
      },
      strategicPatch,
    );
    await cluster.settle();
    const green = podsOf(cluster, PRODUCTION, { app: 'azora-payment', version: 'green' });
    expect(green).toHaveLength(3);
    for (const pod of green) {
      expect(podImage(pod)).toBe(image('payment', 'v1.6.0-bad'));
      expect((pod.status as { phase: string }).phase).toBe('Running');
      expect(await health(PRODUCTION, pod, '/api/pay/health')).toMatchObject({
        status: 200,
        body: { status: 'ok', version: 'v1.6.0-bad' },
      });
      expect(await health(PRODUCTION, pod, '/version')).toMatchObject({
        status: 200,
        body: { version: 'v1.6.0-bad' },
      });
    }
    // However long it waits there.
    now += 10 * FAIL_AFTER_MS;
    await cluster.settle();
    expect(await health(PRODUCTION, green[0]!, '/api/pay/health')).toMatchObject({ status: 200 });
    expect(cluster.firingAlerts()).toEqual([]);
    expect(alerts).toEqual([]);
  });

  it('fails a while after it takes traffic: health 503, errors in its log, AzoraHighErrorRate fires', async () => {
    await select('green');
    const green = podsOf(cluster, PRODUCTION, { app: 'azora-payment', version: 'green' });
    const switchedAt = now;
    // Just switched: still fine.
    expect(await health(PRODUCTION, green[0]!, '/api/pay/health')).toMatchObject({ status: 200 });
    now += FAIL_AFTER_MS - 1;
    await cluster.settle();
    expect(await health(PRODUCTION, green[0]!, '/api/pay/health')).toMatchObject({ status: 200 });
    expect(alerts).toEqual([]);

    now += 1;
    await cluster.settle();
    for (const pod of green) {
      expect(await health(PRODUCTION, pod, '/api/pay/health')).toMatchObject({
        status: 503,
        body: {
          status: 'error',
          service: 'payment',
          version: 'v1.6.0-bad',
          since: new Date(switchedAt + FAIL_AFTER_MS).toISOString(),
        },
      });
    }
    // Through the Service as well: that is what the users get.
    const viaService = await raw(
      cluster,
      `/api/v1/namespaces/${PRODUCTION}/services/azora-payment:3003/proxy/api/pay/health`,
    );
    expect(viaService.status).toBe(503);

    expect(alerts).toEqual([
      {
        alertname: 'AzoraHighErrorRate',
        severity: 'critical',
        namespace: PRODUCTION,
        service: 'payment',
        version: 'v1.6.0-bad',
        pods: green.map((p) => p.metadata.name),
        status: 'firing',
        startsAt: switchedAt + FAIL_AFTER_MS,
        summary: expect.stringMatching(
          /^payment answers 5xx to \d+\.\d% of requests \(threshold 5%\)$/,
        ) as string,
        description: expect.stringContaining('since v1.6.0-bad took traffic') as string,
      },
    ]);
    expect(cluster.firingAlerts()).toEqual([alerts[0]]);

    // Its log turns to errors from the moment it fails, not before.
    now += 20_000;
    const lines = await logs(green[0]!);
    const failing = lines.filter((l) => Date.parse(String(l.time)) >= switchedAt + FAIL_AFTER_MS);
    const before = lines.filter((l) => Date.parse(String(l.time)) < switchedAt + FAIL_AFTER_MS);
    expect(failing.filter((l) => l.level === 'error' && /500$/.test(String(l.msg))).length).toBeGreaterThan(
      failing.length / 2,
    );
    expect(before.some((l) => l.level === 'error' && /500$/.test(String(l.msg)))).toBe(false);
  });

  it('resolves the alert once it takes no traffic any more, and answers healthy again', async () => {
    const green = podsOf(cluster, PRODUCTION, { app: 'azora-payment', version: 'green' });
    await select('blue');
    const resolvedAt = now;
    expect(alerts).toHaveLength(2);
    expect(alerts[1]).toEqual({ ...alerts[0], status: 'resolved', endsAt: resolvedAt });
    expect(cluster.firingAlerts()).toEqual([]);
    expect(await health(PRODUCTION, green[0]!, '/api/pay/health')).toMatchObject({ status: 200 });
    // The errors stay in its log: they happened.
    now += 5_000;
    const lines = await logs(green[0]!);
    expect(lines.some((l) => l.level === 'error' && /500$/.test(String(l.msg)))).toBe(true);
    expect(
      lines
        .filter((l) => Date.parse(String(l.time)) >= resolvedAt)
        .some((l) => l.level === 'error' && /500$/.test(String(l.msg))),
    ).toBe(false);
  });

  it('fails in a rolling environment too, once its new pods take traffic, until it is rolled back', async () => {
    const name = 'azora-payment';
    await apps.patchNamespacedDeployment(
      { name, namespace: STAGING, body: setImagePatch('payment', image('payment', 'v1.6.0-bad')) },
      strategicPatch,
    );
    await cluster.settle();
    const deployment = await apps.readNamespacedDeployment({ name, namespace: STAGING });
    expect(deployment.status).toMatchObject({ updatedReplicas: 2, availableReplicas: 2 });
    const rolledAt = now;
    const viaService = () =>
      raw(cluster, `/api/v1/namespaces/${STAGING}/services/${name}/proxy/api/pay/health`);
    // What a deploy's health check right after the rollout sees.
    expect((await viaService()).status).toBe(200);

    now += FAIL_AFTER_MS;
    await cluster.settle();
    expect((await viaService()).status).toBe(503);
    expect(alerts).toHaveLength(3);
    expect(alerts[2]).toMatchObject({
      alertname: 'AzoraHighErrorRate',
      namespace: STAGING,
      service: 'payment',
      status: 'firing',
      startsAt: rolledAt + FAIL_AFTER_MS,
    });

    await apps.patchNamespacedDeployment(
      { name, namespace: STAGING, body: setImagePatch('payment', image('payment', LIVE_VERSION)) },
      strategicPatch,
    );
    await cluster.settle();
    expect((await viaService()).status).toBe(200);
    expect(alerts).toHaveLength(4);
    expect(alerts[3]).toMatchObject({
      namespace: STAGING,
      service: 'payment',
      status: 'resolved',
      endsAt: now,
    });
  });

  it('fails at once when the cluster is told so (0 ms)', async () => {
    const quick = await startCluster({ badVersionFailAfterMs: 0 });
    try {
      const seen: ClusterAlert[] = [];
      quick.onAlert((alert) => seen.push(alert));
      const quickApps = httpKubeConfig(quick).makeApiClient(AppsV1Api);
      await quickApps.patchNamespacedDeployment(
        { name: 'azora-auth', namespace: STAGING, body: setImagePatch('auth', image('auth', 'v2-bad')) },
        strategicPatch,
      );
      await waitFor(
        () => seen,
        (s) => s.length === 1,
        { what: 'the alert' },
      );
      expect(seen[0]).toMatchObject({
        namespace: STAGING,
        service: 'auth',
        version: 'v2-bad',
        status: 'firing',
      });
      const pod = podsOf(quick, STAGING, { app: 'azora-auth' })[0]!;
      const res = await raw(quick, podProxy(STAGING, pod.metadata.name, 'api/auth/health'));
      expect(res.status).toBe(503);
    } finally {
      await quick.stop();
    }
  });
});
