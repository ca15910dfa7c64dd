import { kubectlVersion, SYSTEM_KUBECTL, tools } from '../setup/tools';
import type { SimulatedCluster } from '../../sandbox/cluster';
import { runKubectl, STAGING, startCluster, startClusterForKubectl, type ClusterForKubectl } from './helpers';

/**
 * The nodes the pods are scheduled on, as the guide's troubleshooting reads them
 * (`kubectl get nodes`, `kubectl describe node`, `kubectl top`), with each kubelet's
 * heartbeat lease and metrics-server's samples.
 */
describe.each([
  [`the kubectl on PATH (${kubectlVersion(SYSTEM_KUBECTL)})`, SYSTEM_KUBECTL],
  [`kubectl 1.33 (${kubectlVersion(tools().kubectl)})`, tools().kubectl],
])('nodes through %s', (_name, binary) => {
  let sim: ClusterForKubectl;
  const kubectl = async (...args: string[]) => {
    const run = await runKubectl(binary, sim.kubeconfig, sim.dir, args);
    if (run.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
    return run.stdout;
  };
  const rows = (table: string) =>
    table
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s{2,}/));

  beforeAll(async () => {
    sim = await startClusterForKubectl('nodes');
  });
  afterAll(() => sim?.stop());

  it('lists every node a pod runs on, ready, and cordons and uncordons one', async () => {
    const pods = JSON.parse(await kubectl('get', 'pods', '-A', '-o', 'json')) as {
      items: { spec: { nodeName: string } }[];
    };
    const scheduledOn = [...new Set(pods.items.map((p) => p.spec.nodeName))].sort();
    const [header, ...nodes] = rows(await kubectl('get', 'nodes'));
    expect(header).toEqual(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']);
    expect(nodes.map((n) => n[0]).sort()).toEqual(scheduledOn);
    expect(nodes.every((n) => n[1] === 'Ready')).toBe(true);

    const wide = rows(await kubectl('get', 'nodes', '-o', 'wide'));
    expect(wide[0]).toContain('INTERNAL-IP');
    const hostIPs = JSON.parse(
      await kubectl('get', 'pods', '-A', '-o', 'json', `--field-selector=spec.nodeName=${scheduledOn[0]}`),
    ) as { items: { status: { hostIP: string } }[] };
    expect(wide[1]?.[5]).toBe(hostIPs.items[0]?.status.hostIP);

    const node = scheduledOn[0]!;
    await kubectl('cordon', node);
    expect(rows(await kubectl('get', 'node', node))[1]?.[1]).toBe('Ready,SchedulingDisabled');
    await kubectl('uncordon', node);
    expect(rows(await kubectl('get', 'node', node))[1]?.[1]).toBe('Ready');
  });

  it('describes a node: its conditions, lease, capacity and pods', async () => {
    const node = JSON.parse(await kubectl('get', 'nodes', '-o', 'json')) as {
      items: { metadata: { name: string } }[];
    };
    const name = node.items[0]!.metadata.name;
    const described = await kubectl('describe', 'node', name);
    expect(described).toMatch(new RegExp(`^Name:\\s+${name}$`, 'm'));
    expect(described).toMatch(/^\s+Ready\s+True\s/m);
    expect(described).toMatch(new RegExp(`HolderIdentity:\\s+${name}`));
    expect(described).not.toMatch(/Failed to get lease/);
    expect(described).toMatch(/^\s+cpu:\s+4$/m);
    const onIt = JSON.parse(
      await kubectl('get', 'pods', '-A', '-o', 'json', `--field-selector=spec.nodeName=${name}`),
    ) as { items: unknown[] };
    expect(onIt.items.length).toBeGreaterThan(0);
    expect(described).toContain(`Non-terminated Pods:          (${onIt.items.length} in total)`);
  });

  /** `kubectl top` rows as name → [cpu in millicores, memory in MiB]. */
  const top = async (...args: string[]) =>
    new Map(
      rows(await kubectl('top', ...args))
        .slice(1)
        .map(([name, cpu, ...rest]) => [
          name!,
          [Number(cpu!.replace(/m$/, '')), Number(rest[rest.length === 1 ? 0 : 1]!.replace(/Mi$/, ''))],
        ]),
    );

  it('shows what each running pod and node uses with `kubectl top`, following a scale', async () => {
    const running = async () =>
      (
        JSON.parse(await kubectl('get', 'pods', '-n', STAGING, '-l', 'app=azora-auth', '-o', 'json')) as {
          items: { metadata: { name: string } }[];
        }
      ).items
        .map((p) => p.metadata.name)
        .sort();
    const before = await top('pods', '-n', STAGING, '-l', 'app=azora-auth');
    expect([...before.keys()].sort()).toEqual(await running());
    // auth requests 250m and 256Mi in the guide: a pod uses part of it, never nothing.
    for (const [cpu, memory] of before.values()) {
      expect(cpu).toBeGreaterThan(0);
      expect(cpu).toBeLessThanOrEqual(250);
      expect(memory).toBeGreaterThan(0);
      expect(memory).toBeLessThanOrEqual(256);
    }
    const nodesBefore = await top('nodes');
    expect([...nodesBefore.keys()].sort()).toEqual(
      rows(await kubectl('get', 'nodes'))
        .slice(1)
        .map((n) => n[0]),
    );

    await kubectl('scale', 'deployment/azora-auth', '--replicas=4', '-n', STAGING);
    await sim.cluster.settle();
    const scaled = await top('pods', '-n', STAGING, '-l', 'app=azora-auth');
    expect([...scaled.keys()].sort()).toEqual(await running());
    expect(scaled.size).toBe(4);
    const cpuOf = (m: Map<string, number[]>) => [...m.values()].reduce((sum, [cpu]) => sum + cpu!, 0);
    expect(cpuOf(await top('nodes'))).toBeGreaterThan(cpuOf(nodesBefore));

    await kubectl('scale', 'deployment/azora-auth', '--replicas=2', '-n', STAGING);
    await sim.cluster.settle();
    expect([...(await top('pods', '-n', STAGING, '-l', 'app=azora-auth')).keys()].sort()).toEqual(
      await running(),
    );
  });
});

describe('metrics-server in the simulated cluster', () => {
  let cluster: SimulatedCluster;
  beforeAll(async () => {
    cluster = await startCluster();
  });
  afterAll(() => cluster?.stop());

  it('refuses to be written to, as metrics-server does', async () => {
    const res = await fetch(`${cluster.url}/apis/metrics.k8s.io/v1beta1/namespaces/${STAGING}/pods`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cluster.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'metrics.k8s.io/v1beta1',
        kind: 'PodMetrics',
        metadata: { name: 'x' },
      }),
    });
    expect(res.status).toBe(405);
    expect(((await res.json()) as { reason: string }).reason).toBe('MethodNotAllowed');
  });
});
