import { PassThrough } from 'node:stream';
import {
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  KubeConfig,
  Log,
  Observable,
  PatchStrategy,
  setHeaderOptions,
  type RequestContext,
  type ResponseContext,
  Watch,
  type V1Deployment,
} from '@kubernetes/client-node';
import { GREEN_VERSION, type SimulatedCluster } from '../../sandbox/cluster';
import {
  annotation,
  apiFailure,
  containerImage,
  httpKubeConfig,
  PRODUCTION,
  REVISION,
  REVISION_HISTORY,
  STAGING,
  startCluster,
  statusOf,
} from './helpers';
import { waitFor } from '../kit/wait';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** client-node types proxy answers as string but hands over the parsed JSON body. */
function json(body: unknown): unknown {
  return typeof body === 'string' ? JSON.parse(body) : body;
}
const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

describe('simulated cluster through @kubernetes/client-node', () => {
  let cluster: SimulatedCluster;
  let kc: KubeConfig;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let autoscaling: AutoscalingV2Api;

  beforeAll(async () => {
    cluster = await startCluster({ readyDelayMs: 20 });
    kc = httpKubeConfig(cluster);
    apps = kc.makeApiClient(AppsV1Api);
    core = kc.makeApiClient(CoreV1Api);
    autoscaling = kc.makeApiClient(AutoscalingV2Api);
  });

  afterAll(async () => {
    await cluster.stop();
  });

  describe('reads', () => {
    it('serves the seeded topology with label and field selectors', async () => {
      const blue = await core.listNamespacedPod({
        namespace: PRODUCTION,
        labelSelector: 'app=azora-auth,version in (blue)',
      });
      expect(blue.items).toHaveLength(3);
      expect(blue.items.every((p) => p.metadata?.name?.startsWith('azora-auth-blue-'))).toBe(true);
      expect(blue.items.every((p) => p.status?.phase === 'Running')).toBe(true);

      const notBlue = await core.listNamespacedPod({
        namespace: PRODUCTION,
        labelSelector: 'app=azora-auth,version!=blue',
      });
      expect(notBlue.items.map((p) => p.metadata?.labels?.version)).toEqual(['green', 'green', 'green']);

      const unversioned = await core.listNamespacedPod({ namespace: PRODUCTION, labelSelector: '!version' });
      expect(unversioned.items.map((p) => p.metadata?.name).sort()).toEqual([
        'postgres-0',
        'postgres-replica-0',
        'postgres-replica-1',
      ]);

      const byName = await apps.listNamespacedDeployment({
        namespace: PRODUCTION,
        fieldSelector: 'metadata.name=azora-payment-green',
      });
      expect(byName.items.map((d) => d.metadata?.name)).toEqual(['azora-payment-green']);

      const everywhere = await core.listPodForAllNamespaces({ labelSelector: 'app in (postgres)' });
      expect(everywhere.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`).sort()).toEqual([
        `${PRODUCTION}/postgres-0`,
        `${STAGING}/postgres-0`,
      ]);

      const deployment = await apps.readNamespacedDeployment({
        name: 'azora-api-gateway',
        namespace: STAGING,
      });
      expect(deployment.spec?.replicas).toBe(2);
      expect(deployment.metadata?.creationTimestamp).toBeInstanceOf(Date);
      expect(deployment.spec?.template.spec?.containers[0]?.readinessProbe?.httpGet?.path).toBe(
        '/api/health',
      );
      expect(deployment.status?.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe(
        'NewReplicaSetAvailable',
      );
    });

    it('paginates lists with limit and continue', async () => {
      const first = await core.listNamespacedPod({ namespace: PRODUCTION, limit: 10 });
      expect(first.items).toHaveLength(10);
      expect(first.metadata?._continue).toBeTruthy();
      const rest = await core.listNamespacedPod({
        namespace: PRODUCTION,
        limit: 100,
        _continue: first.metadata?._continue,
      });
      const all = await core.listNamespacedPod({ namespace: PRODUCTION });
      expect([...first.items, ...rest.items].map((p) => p.metadata?.name)).toEqual(
        all.items.map((p) => p.metadata?.name),
      );
    });

    it('works through the written kubeconfig over TLS as well', async () => {
      const tls = new KubeConfig();
      tls.loadFromString(cluster.kubeconfig());
      expect(tls.getCurrentCluster()?.server).toBe(cluster.httpsUrl);
      const list = await tls.makeApiClient(AppsV1Api).listNamespacedStatefulSet({ namespace: PRODUCTION });
      expect(list.items.map((s) => [s.metadata?.name, s.spec?.replicas, s.status?.readyReplicas])).toEqual([
        ['postgres', 1, 1],
        ['postgres-replica', 2, 2],
      ]);
    });
  });

  describe('scaling', () => {
    it('scales through /scale with a merge patch and with PUT', async () => {
      const name = 'azora-education';
      const patched = await apps.patchNamespacedDeploymentScale(
        { name, namespace: STAGING, body: { spec: { replicas: 4 } } },
        mergePatch,
      );
      expect(patched.spec?.replicas).toBe(4);
      expect(patched.status?.selector).toBe('app=azora-education');
      await cluster.settle();
      expect(
        (await core.listNamespacedPod({ namespace: STAGING, labelSelector: `app=${name}` })).items,
      ).toHaveLength(4);

      const scale = await apps.readNamespacedDeploymentScale({ name, namespace: STAGING });
      expect(scale.status?.replicas).toBe(4);
      scale.spec = { replicas: 1 };
      await apps.replaceNamespacedDeploymentScale({ name, namespace: STAGING, body: scale });
      await cluster.settle();
      const after = await apps.readNamespacedDeployment({ name, namespace: STAGING });
      expect(after.spec?.replicas).toBe(1);
      expect(after.status?.readyReplicas).toBe(1);
      expect(
        (await core.listNamespacedPod({ namespace: STAGING, labelSelector: `app=${name}` })).items,
      ).toHaveLength(1);
    });

    it('scales a statefulset through /scale', async () => {
      await apps.patchNamespacedStatefulSetScale(
        { name: 'postgres-replica', namespace: STAGING, body: { spec: { replicas: 2 } } },
        mergePatch,
      );
      await cluster.settle();
      const pods = await core.listNamespacedPod({
        namespace: STAGING,
        labelSelector: 'app=postgres-replica',
      });
      expect(pods.items.map((p) => p.metadata?.name).sort()).toEqual([
        'postgres-replica-0',
        'postgres-replica-1',
      ]);
      const sts = await apps.readNamespacedStatefulSet({ name: 'postgres-replica', namespace: STAGING });
      expect(sts.status?.readyReplicas).toBe(2);
    });

    it('lets an HPA clamp the replicas of its deployment into [min, max]', async () => {
      const name = 'azora-auth-blue';
      await apps.patchNamespacedDeploymentScale(
        { name, namespace: PRODUCTION, body: { spec: { replicas: 5 } } },
        mergePatch,
      );
      await cluster.settle();
      expect((await apps.readNamespacedDeployment({ name, namespace: PRODUCTION })).spec?.replicas).toBe(5);

      await apps.patchNamespacedDeploymentScale(
        { name, namespace: PRODUCTION, body: { spec: { replicas: 25 } } },
        mergePatch,
      );
      await cluster.settle();
      expect((await apps.readNamespacedDeployment({ name, namespace: PRODUCTION })).spec?.replicas).toBe(10);
      const hpa = await autoscaling.readNamespacedHorizontalPodAutoscaler({ name, namespace: PRODUCTION });
      expect(hpa.status?.desiredReplicas).toBe(10);
      expect(hpa.status?.currentReplicas).toBe(10);

      await apps.patchNamespacedDeploymentScale(
        { name, namespace: PRODUCTION, body: { spec: { replicas: 1 } } },
        mergePatch,
      );
      await cluster.settle();
      expect((await apps.readNamespacedDeployment({ name, namespace: PRODUCTION })).spec?.replicas).toBe(3);
      expect(
        (
          await core.listNamespacedPod({
            namespace: PRODUCTION,
            labelSelector: 'app=azora-auth,version=blue',
          })
        ).items,
      ).toHaveLength(3);

      await autoscaling.patchNamespacedHorizontalPodAutoscaler(
        { name, namespace: PRODUCTION, body: { spec: { minReplicas: 4 } } },
        mergePatch,
      );
      await cluster.settle();
      expect((await apps.readNamespacedDeployment({ name, namespace: PRODUCTION })).spec?.replicas).toBe(4);
    });
  });

  describe('rollouts', () => {
    const name = 'azora-api-gateway';
    const image = (v: string): string => `registry.azora.world/azora/api-gateway:${v}`;

    it('rolls out a JSON-patched template as a new ReplicaSet with the next revision', async () => {
      const before = await apps.readNamespacedDeployment({ name, namespace: STAGING });
      expect(before.metadata?.annotations?.[REVISION]).toBe('3');
      await apps.patchNamespacedDeployment({
        name,
        namespace: STAGING,
        body: [
          { op: 'test', path: '/spec/template/spec/containers/0/image', value: image('v1.5.0') },
          { op: 'replace', path: '/spec/template/spec/containers/0/image', value: image('v1.6.0') },
        ],
      });
      await cluster.settle();

      const after = await apps.readNamespacedDeployment({ name, namespace: STAGING });
      expect(after.metadata?.generation).toBe((before.metadata?.generation ?? 0) + 1);
      expect(after.status?.observedGeneration).toBe(after.metadata?.generation);
      expect(after.metadata?.annotations?.[REVISION]).toBe('4');
      expect(after.status).toMatchObject({
        replicas: 2,
        updatedReplicas: 2,
        readyReplicas: 2,
        availableReplicas: 2,
      });
      expect(after.status?.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe(
        'NewReplicaSetAvailable',
      );

      const sets = await apps.listNamespacedReplicaSet({ namespace: STAGING, labelSelector: `app=${name}` });
      const newest = sets.items.find(
        (rs) => rs.spec?.template?.spec?.containers[0]?.image === image('v1.6.0'),
      );
      expect(newest?.metadata?.annotations?.[REVISION]).toBe('4');
      expect(newest?.metadata?.name).toBe(`${name}-${newest?.metadata?.labels?.['pod-template-hash']}`);
      expect(newest?.metadata?.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'Deployment', name, uid: after.metadata?.uid, controller: true }),
      ]);
      expect(sets.items.filter((rs) => rs !== newest).every((rs) => rs.spec?.replicas === 0)).toBe(true);

      const pods = await core.listNamespacedPod({ namespace: STAGING, labelSelector: `app=${name}` });
      expect(pods.items).toHaveLength(2);
      for (const pod of pods.items) {
        expect(pod.metadata?.name).toMatch(new RegExp(`^${newest?.metadata?.name}-[a-z0-9]{5}$`));
        expect(pod.spec?.containers[0]?.image).toBe(image('v1.6.0'));
        expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
        expect(pod.status?.containerStatuses?.[0]?.ready).toBe(true);
      }
    });

    it('reuses the ReplicaSet of an equal template on rollback and moves its revision', async () => {
      const sets = await apps.listNamespacedReplicaSet({ namespace: STAGING, labelSelector: `app=${name}` });
      const previous = sets.items.find((rs) => rs.metadata?.annotations?.[REVISION] === '3');
      expect(previous?.spec?.template?.spec?.containers[0]?.image).toBe(image('v1.5.0'));
      // What `kubectl rollout undo` sends: the old template without pod-template-hash.
      const template = structuredClone(previous?.spec?.template);
      delete template?.metadata?.labels?.['pod-template-hash'];
      await apps.patchNamespacedDeployment({
        name,
        namespace: STAGING,
        body: [{ op: 'replace', path: '/spec/template', value: template }],
      });
      await cluster.settle();

      const after = await apps.listNamespacedReplicaSet({ namespace: STAGING, labelSelector: `app=${name}` });
      expect(after.items).toHaveLength(4);
      const reused = after.items.find((rs) => rs.metadata?.uid === previous?.metadata?.uid);
      expect(reused?.metadata?.annotations?.[REVISION]).toBe('5');
      expect(reused?.metadata?.annotations?.[REVISION_HISTORY]).toBe('3');
      expect(reused?.spec?.replicas).toBe(2);
      const deployment = cluster.get('deployment', STAGING, name);
      expect(annotation(deployment, REVISION)).toBe('5');
      expect(containerImage(deployment)).toBe(image('v1.5.0'));
    });

    it('does not roll out a paused deployment', async () => {
      const target = 'azora-payment';
      await apps.patchNamespacedDeployment(
        { name: target, namespace: STAGING, body: { spec: { paused: true } } },
        mergePatch,
      );
      await apps.patchNamespacedDeployment(
        {
          name: target,
          namespace: STAGING,
          body: {
            spec: {
              template: {
                spec: { containers: [{ name: 'payment', image: 'registry.azora.world/azora/payment:v9' }] },
              },
            },
          },
        },
        strategicPatch,
      );
      await cluster.settle();
      const sets = await apps.listNamespacedReplicaSet({
        namespace: STAGING,
        labelSelector: `app=${target}`,
      });
      expect(sets.items).toHaveLength(3);
      const paused = await apps.readNamespacedDeployment({ name: target, namespace: STAGING });
      expect(paused.status?.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe(
        'DeploymentPaused',
      );
      // The strategic merge kept the rest of the container (merged by name).
      expect(paused.spec?.template.spec?.containers[0]?.ports?.[0]?.containerPort).toBe(3003);

      await apps.patchNamespacedDeployment(
        { name: target, namespace: STAGING, body: { spec: { paused: null } } },
        mergePatch,
      );
      await cluster.settle();
      const resumed = await apps.listNamespacedReplicaSet({
        namespace: STAGING,
        labelSelector: `app=${target}`,
      });
      expect(resumed.items).toHaveLength(4);
    });
  });

  describe('services and endpoints', () => {
    it('moves the endpoints when a strategic merge patch changes the Service selector', async () => {
      const name = 'azora-payment';
      const ips = async (version: string): Promise<string[]> =>
        (
          await core.listNamespacedPod({
            namespace: PRODUCTION,
            labelSelector: `app=${name},version=${version}`,
          })
        ).items
          .map((p) => p.status?.podIP ?? '')
          .sort();
      const addresses = async (): Promise<string[]> => {
        const ep = await core.readNamespacedEndpoints({ name, namespace: PRODUCTION });
        return (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();
      };
      expect(await addresses()).toEqual(await ips('blue'));
      await core.patchNamespacedService(
        { name, namespace: PRODUCTION, body: { spec: { selector: { app: name, version: 'green' } } } },
        strategicPatch,
      );
      await cluster.settle();
      expect(await addresses()).toEqual(await ips('green'));
      const svc = await core.readNamespacedService({ name, namespace: PRODUCTION });
      expect(svc.spec?.ports?.[0]?.port).toBe(3003);
    });

    it('answers the health path through the service proxy, 503 when unhealthy', async () => {
      const name = 'azora-api-gateway';
      const ok = await core.connectGetNamespacedServiceProxyWithPath({
        name: `${name}:3000`,
        namespace: PRODUCTION,
        path: 'api/health',
      });
      expect(json(ok)).toMatchObject({ status: 'ok', version: 'v1.5.0', service: 'api-gateway' });

      cluster.setHealthy(PRODUCTION, `${name}-blue`, false);
      const down = await fetch(
        `${cluster.url}/api/v1/namespaces/${PRODUCTION}/services/${name}:3000/proxy/api/health`,
        {
          headers: { authorization: `Bearer ${cluster.adminToken}` },
        },
      );
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ status: 'error' });

      // The green colour is a different workload and stays healthy.
      await core.patchNamespacedService(
        { name, namespace: PRODUCTION, body: { spec: { selector: { version: 'green' } } } },
        strategicPatch,
      );
      await cluster.settle();
      const green = await core.connectGetNamespacedServiceProxyWithPath({
        name,
        namespace: PRODUCTION,
        path: 'api/health',
      });
      expect(json(green)).toMatchObject({ status: 'ok', version: GREEN_VERSION });
      cluster.setHealthy(PRODUCTION, `${name}-blue`, true);

      const missing = await apiFailure(
        core.connectGetNamespacedServiceProxyWithPath({
          name: 'nope',
          namespace: PRODUCTION,
          path: 'api/health',
        }),
      );
      expect(missing.code).toBe(404);
    });

    it('answers 503 when the Service has no ready endpoints', async () => {
      await apps.patchNamespacedDeploymentScale(
        { name: 'azora-auth', namespace: STAGING, body: { spec: { replicas: 0 } } },
        mergePatch,
      );
      await cluster.settle();
      const res = await fetch(
        `${cluster.url}/api/v1/namespaces/${STAGING}/services/azora-auth/proxy/api/auth/health`,
        {
          headers: { authorization: `Bearer ${cluster.adminToken}` },
        },
      );
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable' });
    });
  });

  describe('errors', () => {
    it('answers 409 Conflict to a PUT with a stale resourceVersion', async () => {
      const name = 'azora-education-green';
      const stale = await apps.readNamespacedDeployment({ name, namespace: PRODUCTION });
      await apps.patchNamespacedDeployment(
        { name, namespace: PRODUCTION, body: { metadata: { labels: { touched: 'yes' } } } },
        mergePatch,
      );
      const failure = await apiFailure(
        apps.replaceNamespacedDeployment({ name, namespace: PRODUCTION, body: stale }),
      );
      expect(failure.code).toBe(409);
      expect(failure.status).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        reason: 'Conflict',
        message: `Operation cannot be fulfilled on deployments.apps "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      });

      const fresh: V1Deployment = await apps.readNamespacedDeployment({ name, namespace: PRODUCTION });
      fresh.metadata = { ...fresh.metadata, labels: { ...fresh.metadata?.labels, replaced: 'yes' } };
      const replaced = await apps.replaceNamespacedDeployment({ name, namespace: PRODUCTION, body: fresh });
      expect(replaced.metadata?.labels?.replaced).toBe('yes');
      expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(
        Number(fresh.metadata?.resourceVersion),
      );
    });

    it('answers 404 NotFound and 422 Invalid with Status bodies', async () => {
      const missing = await apiFailure(apps.readNamespacedDeployment({ name: 'nope', namespace: STAGING }));
      expect(missing.code).toBe(404);
      expect(missing.status).toMatchObject({
        kind: 'Status',
        reason: 'NotFound',
        code: 404,
        message: 'deployments.apps "nope" not found',
        details: { name: 'nope', group: 'apps', kind: 'deployments' },
      });

      const negative = await apiFailure(
        apps.patchNamespacedDeployment(
          { name: 'azora-auth', namespace: STAGING, body: { spec: { replicas: -1 } } },
          mergePatch,
        ),
      );
      expect(negative.code).toBe(422);
      expect(negative.status.reason).toBe('Invalid');
      expect(negative.status.message).toBe(
        'Deployment.apps "azora-auth" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
      );
      expect(negative.status.details?.causes?.[0]?.field).toBe('spec.replicas');

      const scale = await apiFailure(
        apps.patchNamespacedDeploymentScale(
          { name: 'azora-auth', namespace: STAGING, body: { spec: { replicas: -2 } } },
          mergePatch,
        ),
      );
      expect(scale.code).toBe(422);
      expect(scale.status.message).toContain('Scale.autoscaling "azora-auth" is invalid: spec.replicas');

      const failedTest = await apiFailure(
        apps.patchNamespacedDeployment({
          name: 'azora-auth',
          namespace: STAGING,
          body: [{ op: 'test', path: '/spec/replicas', value: 99 }],
        }),
      );
      expect(failedTest.code).toBe(422);
      expect(failedTest.status.message).toContain('test failed');

      const exists = await apiFailure(
        core.createNamespacedService({
          namespace: STAGING,
          body: { metadata: { name: 'azora-auth' }, spec: { ports: [{ port: 1 }] } },
        }),
      );
      expect(exists.code).toBe(409);
      expect(exists.status.reason).toBe('AlreadyExists');

      const apply = await fetch(`${cluster.url}/apis/apps/v1/namespaces/${STAGING}/deployments/azora-auth`, {
        method: 'PATCH',
        headers: {
          authorization: `Bearer ${cluster.adminToken}`,
          'content-type': 'application/apply-patch+yaml',
        },
        body: 'spec: {replicas: 2}',
      });
      expect(apply.status).toBe(415);
      expect(await apply.json()).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType', code: 415 });

      const badSelector = await fetch(
        `${cluster.url}/api/v1/namespaces/${STAGING}/pods?labelSelector=app%3D%3D%3D`,
        {
          headers: { authorization: `Bearer ${cluster.adminToken}` },
        },
      );
      expect(badSelector.status).toBe(400);
    });

    it('creates and deletes a pod', async () => {
      const created = await core.createNamespacedPod({
        namespace: STAGING,
        body: {
          metadata: { name: 'debug', labels: { app: 'debug' } },
          spec: { containers: [{ name: 'sh', image: 'busybox:1.36' }] },
        },
      });
      expect(created.metadata?.uid).toBeTruthy();
      expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
      await cluster.settle();
      const running = await core.readNamespacedPod({ name: 'debug', namespace: STAGING });
      expect(running.status?.phase).toBe('Running');
      await core.deleteNamespacedPod({ name: 'debug', namespace: STAGING });
      expect((await apiFailure(core.readNamespacedPod({ name: 'debug', namespace: STAGING }))).code).toBe(
        404,
      );
    });
  });

  describe('watch', () => {
    it('streams events for changes and resumes from a resourceVersion', async () => {
      const name = 'azora-education-blue';
      const list = await apps.listNamespacedDeployment({ namespace: PRODUCTION });
      const events: Array<{ type: string; name?: string; replicas?: number }> = [];
      let done: unknown = 'open';
      const watch = new Watch(kc);
      const controller = await watch.watch(
        `/apis/apps/v1/namespaces/${PRODUCTION}/deployments`,
        { labelSelector: 'app=azora-education', resourceVersion: list.metadata?.resourceVersion },
        (type, obj: V1Deployment) =>
          events.push({ type, name: obj.metadata?.name, replicas: obj.spec?.replicas }),
        (err) => (done = err),
      );
      await apps.patchNamespacedDeploymentScale(
        { name, namespace: PRODUCTION, body: { spec: { replicas: 4 } } },
        mergePatch,
      );
      await cluster.settle();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(events[0]).toEqual({ type: 'MODIFIED', name, replicas: 4 });
      expect(events.every((e) => e.name === name)).toBe(true);
      // The stream stays open until the client aborts it.
      expect(done).toBe('open');
      controller.abort();

      // Without a resourceVersion, a watch starts with ADDED for what exists.
      const initial: string[] = [];
      const second = await watch.watch(
        `/apis/apps/v1/namespaces/${PRODUCTION}/deployments`,
        { labelSelector: 'app=azora-education' },
        (type, obj: V1Deployment) => initial.push(`${type} ${obj.metadata?.name}`),
        () => undefined,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(initial.sort()).toEqual([`ADDED ${name}`, 'ADDED azora-education-green']);
      second.abort();
    });

    it('turns label changes into ADDED/DELETED for a selector watch', async () => {
      const seen: string[] = [];
      const controller = await new Watch(kc).watch(
        `/api/v1/namespaces/${STAGING}/services`,
        {
          labelSelector: 'tier=edge',
          resourceVersion: String(
            (await core.listNamespacedService({ namespace: STAGING })).metadata?.resourceVersion,
          ),
        },
        (type, obj: { metadata?: { name?: string } }) => seen.push(`${type} ${obj.metadata?.name}`),
        () => undefined,
      );
      const patch = (labels: Record<string, string | null>) =>
        core.patchNamespacedService(
          { name: 'azora-auth', namespace: STAGING, body: { metadata: { labels } } },
          mergePatch,
        );
      await patch({ tier: 'edge' });
      await patch({ tier: null });
      await new Promise((resolve) => setTimeout(resolve, 50));
      controller.abort();
      expect(seen).toEqual(['ADDED azora-auth', 'DELETED azora-auth']);
    });
  });

  describe('logs', () => {
    let logCluster: SimulatedCluster;
    let logKc: KubeConfig;
    let pod: string;

    beforeAll(async () => {
      logCluster = await startCluster({ logIntervalMs: 20 });
      logKc = httpKubeConfig(logCluster);
      const pods = await logKc
        .makeApiClient(CoreV1Api)
        .listNamespacedPod({ namespace: STAGING, labelSelector: 'app=azora-payment' });
      pod = pods.items[0]?.metadata?.name ?? '';
    });

    afterAll(async () => {
      await logCluster.stop();
    });

    const read = async (options: Record<string, unknown>): Promise<string[]> => {
      const sink = new PassThrough();
      const chunks: Buffer[] = [];
      sink.on('data', (c: Buffer) => chunks.push(c));
      const ended = new Promise((resolve) => sink.on('end', resolve));
      await new Log(logKc).log(STAGING, pod, 'payment', sink, options);
      await ended;
      return Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
    };

    it('serves tailLines, timestamps, sinceSeconds and limitBytes', async () => {
      const tail = await read({ tailLines: 5 });
      expect(tail).toHaveLength(5);
      for (const line of tail) expect(JSON.parse(line)).toMatchObject({ service: 'payment', pod });

      const stamped = await read({ tailLines: 3, timestamps: true });
      for (const line of stamped) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z \{/);

      // The cut-off is the server's clock at the request: no line older than a second before it.
      const asked = Date.now();
      const recent = await read({ sinceSeconds: 1 });
      expect(recent.length).toBeGreaterThan(20);
      expect(recent.length).toBeLessThanOrEqual(51);
      for (const line of recent)
        expect(Date.parse(JSON.parse(line).time)).toBeGreaterThanOrEqual(asked - 1000);

      const limited = await read({ limitBytes: 100 });
      expect(limited.join('\n').length).toBeLessThanOrEqual(100);

      const history = await read({});
      expect(history).toHaveLength(1000);
      const levels = new Set(history.map((l) => JSON.parse(l).level));
      expect([...levels].sort()).toEqual(['error', 'info', 'warn']);
      expect(history.some((l) => /password=hunter2|Authorization: Bearer /.test(l))).toBe(true);
    });

    it('follows new lines until the client aborts', async () => {
      const sink = new PassThrough();
      // client-node 2 pipes the response with no error handler: an abort would be uncaught.
      sink.on('pipe', (source) => source.on('error', () => undefined));
      const lines: string[] = [];
      sink.on('data', (c: Buffer) => lines.push(...c.toString('utf8').split('\n').filter(Boolean)));
      const controller = await new Log(logKc).log(STAGING, pod, 'payment', sink, {
        follow: true,
        tailLines: 1,
      });
      await waitFor(
        () => lines.length,
        (n) => n >= 5,
        { what: 'five followed lines' },
      );
      controller.abort();
      const times = lines.map((l) => Date.parse(JSON.parse(l).time));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    });

    it('rejects an unknown container with a 400', async () => {
      const res = await fetch(
        `${logCluster.url}/api/v1/namespaces/${STAGING}/pods/${pod}/log?container=nope`,
        {
          headers: { authorization: `Bearer ${logCluster.adminToken}` },
        },
      );
      expect(res.status).toBe(400);
    });
  });

  describe('authentication and RBAC', () => {
    let rbacCluster: SimulatedCluster;

    beforeAll(async () => {
      rbacCluster = await startCluster({
        identities: {
          'viewer-token': {
            name: 'viewer',
            rules: [
              { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] },
              {
                apiGroups: [''],
                resources: ['pods', 'pods/log'],
                verbs: ['get', 'list'],
                namespaces: [STAGING],
              },
            ],
          },
        },
      });
    });

    afterAll(async () => {
      await rbacCluster.stop();
    });

    it('answers 401 to a missing or unknown token', async () => {
      const failure = await apiFailure(
        httpKubeConfig(rbacCluster, 'wrong')
          .makeApiClient(CoreV1Api)
          .listNamespacedPod({ namespace: STAGING }),
      );
      expect(failure.code).toBe(401);
      // client-node drops the body of a 401, so read the Status directly.
      const missing = await fetch(`${rbacCluster.url}/api`);
      expect(missing.status).toBe(401);
      expect(await missing.json()).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        reason: 'Unauthorized',
        code: 401,
      });
      const unknown = await fetch(`${rbacCluster.url}/apis/apps/v1/deployments`, {
        headers: { authorization: 'Bearer nope' },
      });
      expect(unknown.status).toBe(401);
    });

    it('answers 403 outside the identity rules, with the API server message', async () => {
      const viewer = httpKubeConfig(rbacCluster, 'viewer-token');
      const viewerApps = viewer.makeApiClient(AppsV1Api);
      const viewerCore = viewer.makeApiClient(CoreV1Api);
      expect((await viewerApps.listNamespacedDeployment({ namespace: PRODUCTION })).items.length).toBe(8);
      expect((await viewerCore.listNamespacedPod({ namespace: STAGING })).items.length).toBeGreaterThan(0);

      const scale = await apiFailure(
        viewerApps.patchNamespacedDeploymentScale(
          { name: 'azora-auth-blue', namespace: PRODUCTION, body: { spec: { replicas: 4 } } },
          mergePatch,
        ),
      );
      expect(scale.code).toBe(403);
      expect(scale.status).toMatchObject({
        kind: 'Status',
        reason: 'Forbidden',
        message:
          'deployments.apps "azora-auth-blue" is forbidden: User "viewer" cannot patch resource "deployments/scale" in API group "apps" in the namespace "azora-production"',
      });
      const pods = await apiFailure(viewerCore.listNamespacedPod({ namespace: PRODUCTION }));
      expect(pods.status.message).toBe(
        'pods is forbidden: User "viewer" cannot list resource "pods" in API group "" in the namespace "azora-production"',
      );
      const all = await apiFailure(viewerCore.listPodForAllNamespaces({}));
      expect(all.status.message).toBe(
        'pods is forbidden: User "viewer" cannot list resource "pods" in API group "" at the cluster scope',
      );
      // Discovery is open to every authenticated identity.
      const version = await fetch(`${rbacCluster.url}/version`, {
        headers: { authorization: 'Bearer viewer-token' },
      });
      expect(version.status).toBe(200);
    });
  });

  describe('faults', () => {
    let faultCluster: SimulatedCluster;
    let faultApps: AppsV1Api;

    beforeAll(async () => {
      faultCluster = await startCluster();
      faultApps = httpKubeConfig(faultCluster).makeApiClient(AppsV1Api);
    });

    afterAll(async () => {
      await faultCluster.stop();
    });

    it('answers 500 to the next matching requests', async () => {
      faultCluster.faults.failNext(2, { method: 'GET', path: /\/deployments\/azora-auth$/ });
      const read = () => faultApps.readNamespacedDeployment({ name: 'azora-auth', namespace: STAGING });
      // Other requests are not affected.
      await faultApps.readNamespacedDeployment({ name: 'azora-payment', namespace: STAGING });
      expect((await apiFailure(read())).code).toBe(500);
      expect((await apiFailure(read())).status.reason).toBe('InternalError');
      expect((await read()).metadata?.name).toBe('azora-auth');
    });

    it('hangs a request so that a client timeout fires', async () => {
      faultCluster.faults.hangNext(1, 1000, { path: /azora-auth/ });
      // A per-request timeout as a client-node caller sets one: a middleware that adds an AbortSignal.
      const timeout = (ms: number) => ({
        middleware: [
          {
            pre: (ctx: RequestContext) => {
              ctx.setSignal(AbortSignal.timeout(ms));
              return new Observable(Promise.resolve(ctx));
            },
            post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
          },
        ],
        middlewareMergeStrategy: 'append' as const,
      });
      await expect(
        faultApps.readNamespacedDeployment({ name: 'azora-auth', namespace: STAGING }, timeout(200)),
      ).rejects.toThrow(/abort/i);
      // A hung request is served once the hang is over.
      faultCluster.faults.hangNext(1, 100);
      const read = await faultApps.readNamespacedDeployment(
        { name: 'azora-auth', namespace: STAGING },
        timeout(2000),
      );
      expect(read.metadata?.name).toBe('azora-auth');
    });

    it('stops and starts listening on the same port', async () => {
      const port = faultCluster.port;
      await faultCluster.faults.stopListening();
      await expect(fetch(`${faultCluster.url}/version`)).rejects.toThrow();
      await faultCluster.faults.startListening();
      expect(faultCluster.port).toBe(port);
      expect(
        (await faultApps.readNamespacedDeployment({ name: 'azora-auth', namespace: STAGING })).spec?.replicas,
      ).toBe(2);
    });
  });

  it('records the requests it served', () => {
    expect(cluster.requests.some((r) => r.method === 'PATCH' && r.url.endsWith('/scale'))).toBe(true);
    expect(
      statusOf<{ replicas?: number }>(cluster.get('deploy', STAGING, 'azora-auth')).replicas,
    ).toBeUndefined();
  });
});
