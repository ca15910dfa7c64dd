import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GREEN_VERSION, type KubeObject, type SimulatedCluster } from '../../sandbox/cluster';
import {
  annotation,
  containerImage,
  defaultPolicy,
  PRODUCTION,
  REVISION,
  runKubectl,
  type KubectlRun,
  specOf,
  STAGING,
  startCluster,
  statusOf,
} from './helpers';

/** The kubectl on PATH: CI installs Debian's kubernetes-client (1.20); developer machines often have a newer one. */
function findKubectl(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'kubectl');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

const PROD_CONTEXT = 'gke-azora-prod';

describe('simulated cluster through kubectl', () => {
  let kubectlPath: string;
  let cluster: SimulatedCluster;
  let dir: string;
  let kubeconfig: string;
  let viewerKubeconfig: string;

  const kubectl = (args: string[], config = kubeconfig): Promise<KubectlRun> =>
    runKubectl(kubectlPath, config, dir, args);

  /** Runs kubectl and fails the test with kubectl's stderr when it exits non-zero. */
  const ok = async (...args: string[]): Promise<string> => {
    const run = await kubectl(args);
    if (run.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
    return run.stdout;
  };

  const rows = (table: string): string[][] =>
    table
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/));

  beforeAll(async () => {
    const found = findKubectl();
    if (!found) {
      throw new Error(
        'kubectl was not found on PATH. These tests drive a real kubectl against the simulated cluster: ' +
          'install it (Debian/Ubuntu: apt-get install -y kubernetes-client) and run them again.',
      );
    }
    kubectlPath = found;
    const policy = defaultPolicy();
    const production = policy.environments.production;
    if (production) production.context = PROD_CONTEXT;
    cluster = await startCluster({
      policy,
      readyDelayMs: 100,
      identities: {
        'viewer-token': {
          name: 'viewer',
          rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] }],
        },
      },
    });
    dir = mkdtempSync(path.join(os.tmpdir(), 'azora-kubectl-'));
    kubeconfig = path.join(dir, 'kubeconfig');
    viewerKubeconfig = path.join(dir, 'viewer-kubeconfig');
    await cluster.writeKubeconfig(kubeconfig);
    await cluster.writeKubeconfig(viewerKubeconfig, { token: 'viewer-token' });
  });

  afterAll(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists deployments as a table and as JSON', async () => {
    const table = await ok('get', 'deploy', '-n', PRODUCTION);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/);
    const found = rows(table);
    expect(found).toHaveLength(8);
    expect(found.map((r) => r[0])).toContain('azora-api-gateway-blue');
    expect(found.every((r) => r[1] === '3/3')).toBe(true);

    const list = JSON.parse(await ok('get', 'deploy', '-n', PRODUCTION, '-o', 'json')) as {
      items: KubeObject[];
    };
    expect(list.items.map((d) => d.metadata.name)).toContain('azora-payment-green');
    // The idle colour holds the version it served when it was live, before blue's v1.5.0.
    expect(containerImage(list.items.find((d) => d.metadata.name === 'azora-payment-green'))).toBe(
      `registry.azora.world/azora/payment:${GREEN_VERSION}`,
    );
  });

  it('selects pods by label', async () => {
    const green = rows(await ok('get', 'pods', '-l', 'version=green', '-n', PRODUCTION));
    expect(green).toHaveLength(12);
    expect(green.every((r) => /-green-/.test(r[0] ?? '') && r[1] === '1/1' && r[2] === 'Running')).toBe(true);
  });

  it('uses the per-environment context named in the policy', async () => {
    const names = await ok('--context', PROD_CONTEXT, 'get', 'deploy', '-o', 'name');
    expect(names.trim().split('\n')).toHaveLength(8);
    expect(names).toContain('deployment.apps/azora-auth-green');
  });

  it('scales a deployment', async () => {
    expect(await ok('scale', 'deploy/azora-auth', '--replicas=4', '-n', STAGING)).toContain('scaled');
    await cluster.settle();
    expect(specOf<{ replicas: number }>(cluster.get('deploy', STAGING, 'azora-auth')).replicas).toBe(4);
    const pods = cluster.list('pods', STAGING).filter((p) => p.metadata.labels?.app === 'azora-auth');
    expect(pods).toHaveLength(4);
    expect(
      statusOf<{ readyReplicas: number }>(cluster.get('deploy', STAGING, 'azora-auth')).readyReplicas,
    ).toBe(4);
  });

  it('patches with strategic merge, merge and JSON patches', async () => {
    const name = 'azora-api-gateway-green';
    await ok(
      'patch',
      'deploy',
      name,
      '-n',
      PRODUCTION,
      '-p',
      JSON.stringify({
        spec: {
          template: {
            spec: { containers: [{ name: 'api-gateway', env: [{ name: 'FEATURE_X', value: 'on' }] }] },
          },
        },
      }),
    );
    await ok(
      'patch',
      'deploy',
      name,
      '-n',
      PRODUCTION,
      '--type',
      'merge',
      '-p',
      '{"metadata":{"labels":{"team":"edge"}}}',
    );
    await ok(
      'patch',
      'deploy',
      name,
      '-n',
      PRODUCTION,
      '--type',
      'json',
      '-p',
      '[{"op":"test","path":"/spec/replicas","value":3},{"op":"replace","path":"/spec/replicas","value":5}]',
    );
    await cluster.settle();
    const deployment = cluster.get('deploy', PRODUCTION, name);
    const env = specOf<{ template: { spec: { containers: Array<{ env: Array<{ name: string }> }> } } }>(
      deployment,
    ).template.spec.containers[0]?.env.map((e) => e.name);
    expect(env).toEqual(['NODE_ENV', 'PORT', 'SERVICE_NAME', 'FEATURE_X']);
    expect(deployment?.metadata.labels).toMatchObject({
      app: 'azora-api-gateway',
      version: 'green',
      team: 'edge',
    });
    expect(specOf<{ replicas: number }>(deployment).replicas).toBe(5);
    // Green's seeded history has two revisions; the new template is the third.
    expect(annotation(deployment, REVISION)).toBe('3');

    const failed = await kubectl([
      'patch',
      'deploy',
      name,
      '-n',
      PRODUCTION,
      '--type',
      'json',
      '-p',
      '[{"op":"test","path":"/spec/replicas","value":1}]',
    ]);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/invalid/i);
  });

  it('shows the rollout history, undoes and waits for rollouts', async () => {
    const name = 'azora-api-gateway';
    const history = await ok('rollout', 'history', `deployment/${name}`, '-n', STAGING);
    expect(history).toMatch(/REVISION\s+CHANGE-CAUSE/);
    expect(rows(history.split('\n').slice(1).join('\n')).map((r) => r[0])).toEqual(['1', '2', '3']);

    expect(await ok('rollout', 'undo', `deployment/${name}`, '-n', STAGING)).toContain('rolled back');
    expect(await ok('rollout', 'status', `deployment/${name}`, '-n', STAGING, '--timeout=30s')).toContain(
      'successfully rolled out',
    );
    let deployment = cluster.get('deploy', STAGING, name);
    expect(containerImage(deployment)).toBe('registry.azora.world/azora/api-gateway:v1.4.1');
    expect(annotation(deployment, REVISION)).toBe('4');
    expect(statusOf<{ updatedReplicas: number; replicas: number }>(deployment)).toMatchObject({
      updatedReplicas: 2,
      replicas: 2,
    });

    await ok('rollout', 'undo', `deployment/${name}`, '--to-revision=1', '-n', STAGING);
    await ok('rollout', 'status', `deployment/${name}`, '-n', STAGING, '--timeout=30s');
    deployment = cluster.get('deploy', STAGING, name);
    expect(containerImage(deployment)).toBe('registry.azora.world/azora/api-gateway:v1.4.0');
    expect(annotation(deployment, REVISION)).toBe('5');
    const pods = cluster.list('pods', STAGING).filter((p) => p.metadata.labels?.app === name);
    expect(pods).toHaveLength(2);
    expect(pods.every((p) => JSON.stringify(p.spec).includes('api-gateway:v1.4.0'))).toBe(true);

    const after = await ok('rollout', 'history', `deployment/${name}`, '-n', STAGING);
    expect(rows(after.split('\n').slice(1).join('\n')).map((r) => r[0])).toEqual(['3', '4', '5']);
  });

  it('waits in rollout status until a new template is rolled out', async () => {
    const name = 'azora-education';
    await ok(
      'patch',
      'deploy',
      name,
      '-n',
      STAGING,
      '--type',
      'json',
      '-p',
      '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"registry.azora.world/azora/education:v1.6.0"}]',
    );
    const status = await ok('rollout', 'status', `deployment/${name}`, '-n', STAGING, '--timeout=30s');
    expect(status).toContain(`deployment "${name}" successfully rolled out`);
    const deployment = cluster.get('deploy', STAGING, name);
    expect(
      statusOf<{ updatedReplicas: number; availableReplicas: number; observedGeneration: number }>(
        deployment,
      ),
    ).toMatchObject({
      updatedReplicas: 2,
      availableReplicas: 2,
      observedGeneration: deployment?.metadata.generation,
    });
    const pods = cluster.list('pods', STAGING).filter((p) => p.metadata.labels?.app === name);
    expect(pods).toHaveLength(2);
    expect(pods.every((p) => JSON.stringify(p.spec).includes('education:v1.6.0'))).toBe(true);
  });

  it('sets an image with `kubectl set image` and waits for it with `kubectl rollout status`', async () => {
    const name = 'azora-payment';
    const to = 'registry.azora.world/azora/payment:v1.6.0';
    expect(await ok('set', 'image', `deployment/${name}`, `payment=${to}`, '-n', STAGING)).toContain(
      'image updated',
    );
    const status = await ok('rollout', 'status', `deployment/${name}`, '-n', STAGING, '--timeout=30s');
    expect(status).toContain(`deployment "${name}" successfully rolled out`);
    const deployment = cluster.get('deploy', STAGING, name);
    expect(containerImage(deployment)).toBe(to);
    expect(annotation(deployment, REVISION)).toBe('4');
    expect(statusOf<{ observedGeneration: number; updatedReplicas: number }>(deployment)).toMatchObject({
      observedGeneration: deployment?.metadata.generation,
      updatedReplicas: 2,
    });
    const pods = cluster.list('pods', STAGING).filter((p) => p.metadata.labels?.app === name);
    expect(pods.map((p) => JSON.stringify(p.spec).includes(to))).toEqual([true, true]);
    const history = await ok('rollout', 'history', `deployment/${name}`, '-n', STAGING);
    expect(rows(history.split('\n').slice(1).join('\n')).map((r) => r[0])).toEqual(['1', '2', '3', '4']);
  });

  it("reads a pod's app through the pod proxy with `kubectl get --raw`", async () => {
    const pod = cluster
      .list('pods', PRODUCTION)
      .find((p) => p.metadata.labels?.app === 'azora-payment' && p.metadata.labels.version === 'green');
    const name = pod?.metadata.name ?? '';
    const proxy = (target: string, path: string) =>
      `/api/v1/namespaces/${PRODUCTION}/pods/${target}/proxy/${path}`;

    expect(JSON.parse(await ok('get', '--raw', proxy(`${name}:3003`, 'api/pay/health')))).toMatchObject({
      status: 'ok',
      service: 'payment',
      version: GREEN_VERSION,
      pod: name,
    });
    expect(JSON.parse(await ok('get', '--raw', proxy(name, 'version')))).toEqual({
      service: 'payment',
      version: GREEN_VERSION,
    });

    const unknownPath = await kubectl(['get', '--raw', proxy(name, 'api/pay/nope')]);
    expect(unknownPath.code).not.toBe(0);
    expect(unknownPath.stderr).toMatch(/NotFound/);

    const missing = await kubectl(['get', '--raw', proxy('azora-payment-green-nope', 'version')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('pods "azora-payment-green-nope" not found');

    cluster.setHealthy(PRODUCTION, 'azora-payment-green', false);
    try {
      const sick = await kubectl(['get', '--raw', proxy(`${name}:3003`, 'api/pay/health')]);
      expect(sick.code).not.toBe(0);
      expect(sick.stderr).toMatch(/ServiceUnavailable/);
    } finally {
      cluster.setHealthy(PRODUCTION, 'azora-payment-green', true);
    }

    // Proxying to pods is a right of its own: the viewer may read deployments only.
    const denied = await kubectl(['get', '--raw', proxy(name, 'version')], viewerKubeconfig);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(
      `pods "${name}" is forbidden: User "viewer" cannot get resource "pods/proxy" in API group "" in the namespace "${PRODUCTION}"`,
    );
  });

  it('reads logs of a deployment and of a pod', async () => {
    const lines = (await ok('logs', 'deploy/azora-payment-blue', '--tail=5', '-n', PRODUCTION))
      .trim()
      .split('\n');
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ service: 'payment' });

    const pod = cluster.list('pods', PRODUCTION).find((p) => p.metadata.name.startsWith('postgres-replica-'));
    const podLog = (await ok('logs', pod?.metadata.name ?? '', '-n', PRODUCTION)).trim().split('\n');
    expect(podLog.length).toBeGreaterThan(100);
    expect(podLog[podLog.length - 1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC \[\d+\] /);
  });

  it('reports a request outside the identity rules as Forbidden', async () => {
    const listed = await kubectl(['get', 'deploy', '-n', PRODUCTION, '-o', 'name'], viewerKubeconfig);
    expect(listed.code).toBe(0);
    const denied = await kubectl(
      ['scale', 'deploy/azora-auth-blue', '--replicas=4', '-n', PRODUCTION],
      viewerKubeconfig,
    );
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(
      'deployments.apps "azora-auth-blue" is forbidden: User "viewer" cannot patch resource "deployments/scale" in API group "apps" in the namespace "azora-production"',
    );
    expect(specOf<{ replicas: number }>(cluster.get('deploy', PRODUCTION, 'azora-auth-blue')).replicas).toBe(
      3,
    );
  });
});
