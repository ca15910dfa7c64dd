import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import type { SimulatedCluster } from '../../sandbox/cluster';
import { kubectlVersion, SYSTEM_KUBECTL, tools } from '../setup/tools';
import {
  httpKubeConfig,
  PRODUCTION,
  runKubectl,
  startClusterForKubectl,
  type ClusterForKubectl,
} from './helpers';
import { waitFor } from '../kit/wait';

/**
 * A Service's endpoints as an EndpointSlice too, as a real API server keeps them: newer
 * clients read those (kubectl 1.33's describe of a Service), and follow a blue/green switch.
 */
describe('EndpointSlices', () => {
  let cluster: SimulatedCluster;
  let discovery: DiscoveryV1Api;
  let core: CoreV1Api;
  let sim: ClusterForKubectl;
  let dir: string;
  let kubeconfig: string;
  const slices = async () =>
    (
      await discovery.listNamespacedEndpointSlice({
        namespace: PRODUCTION,
        labelSelector: 'kubernetes.io/service-name=azora-payment',
      })
    ).items;
  const podsOf = async (colour: string) =>
    (
      await core.listNamespacedPod({
        namespace: PRODUCTION,
        labelSelector: `app=azora-payment,version=${colour}`,
      })
    ).items
      .map((p) => p.status?.podIP)
      .sort();

  beforeAll(async () => {
    sim = await startClusterForKubectl('slices');
    ({ cluster, dir, kubeconfig } = sim);
    const kc = httpKubeConfig(cluster);
    discovery = kc.makeApiClient(DiscoveryV1Api);
    core = kc.makeApiClient(CoreV1Api);
  });
  afterAll(() => sim?.stop());

  it('keeps one slice per Service with the selected pods, and moves it with the selector', async () => {
    const [slice] = await slices();
    expect(slice?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Service', name: 'azora-payment' });
    expect(slice?.addressType).toBe('IPv4');
    expect(slice?.ports).toEqual([{ name: 'http', port: 3003, protocol: 'TCP' }]);
    const blue = await podsOf('blue');
    expect((slice?.endpoints ?? []).flatMap((e) => e.addresses).sort()).toEqual(blue);
    expect((slice?.endpoints ?? []).every((e) => e.conditions?.ready)).toBe(true);

    await core.patchNamespacedService({
      name: 'azora-payment',
      namespace: PRODUCTION,
      body: [{ op: 'replace', path: '/spec/selector/version', value: 'green' }],
    });
    const green = await podsOf('green');
    await waitFor(
      async () => ((await slices())[0]?.endpoints ?? []).flatMap((e) => e.addresses).sort(),
      (addresses) => JSON.stringify(addresses) === JSON.stringify(green),
      { what: 'the slice to follow the switch' },
    );
    expect(await slices()).toHaveLength(1);
  });

  it.each([
    [`the kubectl on PATH (${kubectlVersion(SYSTEM_KUBECTL)})`, SYSTEM_KUBECTL],
    [`kubectl 1.33 (${kubectlVersion(tools().kubectl)})`, tools().kubectl],
  ])('shows a Service’s endpoints through %s', async (_name, binary) => {
    const green = (await podsOf('green')).map((ip) => `${ip}:3003`);
    const described = await runKubectl(binary, kubeconfig, dir, [
      'describe',
      'svc',
      'azora-payment',
      '-n',
      PRODUCTION,
    ]);
    expect(described.stderr).toBe('');
    const endpoints = /Endpoints:\s+(\S+)/.exec(described.stdout)?.[1]?.split(',').sort();
    expect(endpoints).toEqual(green.sort());
    const listed = await runKubectl(binary, kubeconfig, dir, ['get', 'endpointslices', '-n', PRODUCTION]);
    expect(listed.stdout).toMatch(/^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE/);
    expect(listed.stdout).toMatch(/azora-payment-\S+\s+IPv4\s+3003\s+/);
  });
});
