import { AutoscalingV1Api, AutoscalingV2Api } from '@kubernetes/client-node';
import type { SimulatedCluster } from '../../sandbox/cluster';
import { callOptions } from '../../src/kernel/kubernetes/clients';
import { kubectlVersion, SYSTEM_KUBECTL, tools } from '../setup/tools';
import {
  httpKubeConfig,
  runKubectl,
  STAGING,
  startClusterForKubectl,
  type ClusterForKubectl,
} from './helpers';

/**
 * HorizontalPodAutoscalers at autoscaling/v1 as well as v2, as a real API server serves
 * them: one object, a CPU utilization target in v1 where v2 has metrics. kubectl 1.20
 * describes and creates HPAs through v1.
 */
describe('autoscaling/v1 beside v2', () => {
  let cluster: SimulatedCluster;
  let v1: AutoscalingV1Api;
  let v2: AutoscalingV2Api;
  let sim: ClusterForKubectl;
  let dir: string;
  let kubeconfig: string;

  beforeAll(async () => {
    sim = await startClusterForKubectl('hpa');
    ({ cluster, dir, kubeconfig } = sim);
    const kc = httpKubeConfig(cluster);
    v1 = kc.makeApiClient(AutoscalingV1Api);
    v2 = kc.makeApiClient(AutoscalingV2Api);
  });
  afterAll(() => sim?.stop());

  it('creates through v1 and reads the same object through both', async () => {
    const created = await v1.createNamespacedHorizontalPodAutoscaler({
      namespace: STAGING,
      body: {
        metadata: { name: 'azora-auth' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'azora-auth' },
          minReplicas: 2,
          maxReplicas: 6,
          targetCPUUtilizationPercentage: 60,
        },
      },
    });
    expect(created.apiVersion).toBe('autoscaling/v1');
    expect(created.spec?.targetCPUUtilizationPercentage).toBe(60);
    const stored = await v2.readNamespacedHorizontalPodAutoscaler({ name: 'azora-auth', namespace: STAGING });
    expect(stored.spec?.metrics).toEqual([
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } },
      },
    ]);
    const listed = await v1.listNamespacedHorizontalPodAutoscaler({ namespace: STAGING });
    expect(listed.items.map((h) => [h.metadata?.name, h.spec?.maxReplicas])).toEqual([['azora-auth', 6]]);
  });

  it('keeps what v1 cannot say (other metrics, behaviour) through a v1 replace and patch', async () => {
    const memory = {
      type: 'Resource',
      resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 75 } },
    };
    const current = await v2.readNamespacedHorizontalPodAutoscaler({
      name: 'azora-auth',
      namespace: STAGING,
    });
    await v2.replaceNamespacedHorizontalPodAutoscaler({
      name: 'azora-auth',
      namespace: STAGING,
      body: {
        ...current,
        spec: {
          ...current.spec!,
          metrics: [...current.spec!.metrics!, memory],
          behavior: { scaleDown: { stabilizationWindowSeconds: 120 } },
        },
      },
    });
    const read = await v1.readNamespacedHorizontalPodAutoscaler({ name: 'azora-auth', namespace: STAGING });
    await v1.replaceNamespacedHorizontalPodAutoscaler({
      name: 'azora-auth',
      namespace: STAGING,
      body: { ...read, spec: { ...read.spec!, targetCPUUtilizationPercentage: 50 } },
    });
    await v1.patchNamespacedHorizontalPodAutoscaler(
      { name: 'azora-auth', namespace: STAGING, body: { spec: { maxReplicas: 8 } } },
      callOptions(10_000, 'merge'),
    );
    const after = await v2.readNamespacedHorizontalPodAutoscaler({ name: 'azora-auth', namespace: STAGING });
    expect(after.spec?.maxReplicas).toBe(8);
    expect(after.spec?.metrics).toEqual([
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
      },
      memory,
    ]);
    expect(after.spec?.behavior?.scaleDown?.stabilizationWindowSeconds).toBe(120);
  });

  it.each([
    [`the kubectl on PATH (${kubectlVersion(SYSTEM_KUBECTL)})`, SYSTEM_KUBECTL],
    [`kubectl 1.33 (${kubectlVersion(tools().kubectl)})`, tools().kubectl],
  ])('is described by %s', async (_name, binary) => {
    const run = await runKubectl(binary, kubeconfig, dir, ['describe', 'hpa', 'azora-auth', '-n', STAGING]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/Reference:\s+Deployment\/azora-auth/);
    expect(run.stdout).toMatch(/Max replicas:\s+8/);
    expect(run.stdout).toMatch(/50%/);
  });
});
