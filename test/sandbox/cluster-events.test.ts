import { AppsV1Api } from '@kubernetes/client-node';
import type { SimulatedCluster } from '../../sandbox/cluster';
import { MAX_EVENTS_PER_NAMESPACE } from '../../sandbox/cluster/controllers/context';
import { callOptions } from '../../src/kernel/kubernetes/clients';
import { httpKubeConfig, STAGING, startCluster } from './helpers';

/** The simulated deployment controller's Events, and their bound. */
describe('simulated cluster Events', () => {
  let cluster: SimulatedCluster;
  beforeAll(async () => {
    cluster = await startCluster();
  });
  afterAll(() => cluster?.stop());

  const scalings = () =>
    cluster
      .list('Event', STAGING)
      .filter((e) => (e as unknown as { reason: string }).reason === 'ScalingReplicaSet');
  const messages = () => scalings().map((e) => (e as unknown as { message: string }).message);

  it('keeps the newest per namespace, each scaling once, none for the seeded history', async () => {
    expect(scalings()).toEqual([]);
    const apps = httpKubeConfig(cluster).makeApiClient(AppsV1Api);
    const scale = (replicas: number) =>
      apps.patchNamespacedDeploymentScale(
        { name: 'azora-auth', namespace: STAGING, body: { spec: { replicas } } },
        callOptions(10_000, 'merge'),
      );
    const total = MAX_EVENTS_PER_NAMESPACE + 5;
    for (let i = 0; i < total; i++) await scale(i % 2 === 0 ? 3 : 2);
    const kept = messages();
    expect(kept).toHaveLength(MAX_EVENTS_PER_NAMESPACE);
    // The five oldest went: what is left is the last 500 scalings, alternating.
    expect(kept.filter((m) => / from 3 to 2$/.test(m))).toHaveLength(MAX_EVENTS_PER_NAMESPACE / 2);
    expect(kept.filter((m) => / from 2 to 3$/.test(m))).toHaveLength(MAX_EVENTS_PER_NAMESPACE / 2);
  }, 60_000);
});
