import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SimulatedCluster } from '../../sandbox/cluster';
import { kubectlVersion, SYSTEM_KUBECTL, tools } from '../setup/tools';
import { containerImage, runKubectl, STAGING, startCluster } from './helpers';

/**
 * Manifests through kubectl: `apply -f`, `create -f`, `replace -f` and `edit` validate a
 * manifest against the server's OpenAPI document first (kubectl 1.20 asks for v2 in
 * protobuf; 1.27+ ask for v3 and fall back to v2), and used to stop at the simulator's 404
 * unless given `--validate=false`.
 */
const KUBECTLS: Array<[string, string]> = [
  [`the kubectl on PATH (${kubectlVersion(SYSTEM_KUBECTL)})`, SYSTEM_KUBECTL],
  [`kubectl 1.33 (${kubectlVersion(tools().kubectl)})`, tools().kubectl],
];

const NAME = 'manifest-app';
const manifest = (image: string, replicas = 1) =>
  [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${NAME}`,
    `  namespace: ${STAGING}`,
    `  labels: { app: ${NAME} }`,
    'spec:',
    `  replicas: ${replicas}`,
    `  selector: { matchLabels: { app: ${NAME} } }`,
    '  template:',
    `    metadata: { labels: { app: ${NAME} } }`,
    '    spec:',
    `      containers: [{ name: app, image: "${image}" }]`,
    '',
  ].join('\n');

describe.each(KUBECTLS)('manifests through %s', (_name, binary) => {
  let cluster: SimulatedCluster;
  let dir: string;
  let kubeconfig: string;
  let file: string;

  const kubectl = (args: string[], env?: Record<string, string>) =>
    runKubectl(binary, kubeconfig, dir, args, { env });
  const ok = async (args: string[], env?: Record<string, string>): Promise<string> => {
    const run = await kubectl(args, env);
    if (run.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
    return run.stdout;
  };
  const deployment = () => cluster.get('Deployment', STAGING, NAME);
  const write = (text: string) => writeFileSync(file, text);

  beforeAll(async () => {
    cluster = await startCluster();
    dir = mkdtempSync(path.join(os.tmpdir(), 'azora-manifests-'));
    kubeconfig = path.join(dir, 'kubeconfig');
    file = path.join(dir, 'deployment.yaml');
    await cluster.writeKubeconfig(kubeconfig);
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('applies a manifest, then a changed one, as validated kubectl does by default', async () => {
    write(manifest('nginx:1.25'));
    expect(await ok(['apply', '-f', file])).toContain(`deployment.apps/${NAME} created`);
    expect(containerImage(deployment())).toBe('nginx:1.25');
    write(manifest('nginx:1.26', 2));
    expect(await ok(['apply', '-f', file])).toContain(`deployment.apps/${NAME} configured`);
    expect(containerImage(deployment())).toBe('nginx:1.26');
    expect((deployment()?.spec as { replicas: number }).replicas).toBe(2);
  });

  it('lists the deployment controller’s scaling as Events, in describe and in get events', async () => {
    const described = await ok(['describe', 'deployment', NAME, '-n', STAGING]);
    const events = described.slice(described.indexOf('Events:'));
    expect(events).toMatch(
      new RegExp(`ScalingReplicaSet\\s.*Scaled up replica set ${NAME}-\\w+ from 0 to 1`),
    );
    expect(events).toMatch(new RegExp(`Scaled up replica set ${NAME}-\\w+ from \\d to 2`));
    const listed = await ok([
      'get',
      'events',
      '-n',
      STAGING,
      '--field-selector',
      `involvedObject.name=${NAME}`,
    ]);
    const scalings = listed.split('\n').filter((l) => l.includes('ScalingReplicaSet'));
    expect(scalings.length).toBeGreaterThanOrEqual(2);
    // LAST SEEN is an age, as a real API server's table prints it.
    for (const row of scalings) expect(row).toMatch(/^\d+[smhd]\s+Normal\s+ScalingReplicaSet\s+deployment\//);
  });

  it('replaces it from a file, and opens it in an editor that changes nothing', async () => {
    write(manifest('nginx:1.27', 2));
    expect(await ok(['replace', '-f', file])).toContain(`deployment.apps/${NAME} replaced`);
    expect(containerImage(deployment())).toBe('nginx:1.27');
    const edit = await kubectl(['edit', `deployment/${NAME}`, '-n', STAGING], { EDITOR: 'true' });
    expect(edit.code).toBe(0);
    expect(`${edit.stdout}${edit.stderr}`).toContain('Edit cancelled, no changes made');
  });

  it('deletes it and creates it again from the file', async () => {
    await ok(['delete', '-f', file]);
    expect(deployment()).toBeUndefined();
    expect(await ok(['create', '-f', file])).toContain(`deployment.apps/${NAME} created`);
    expect(containerImage(deployment())).toBe('nginx:1.27');
  });

  it('serves the OpenAPI v2 document a JSON client asks for, and no v3 document', async () => {
    const v2 = JSON.parse(await ok(['get', '--raw', '/openapi/v2'])) as {
      swagger: string;
      definitions: object;
    };
    expect(v2.swagger).toBe('2.0');
    expect(v2.definitions).toEqual({});
    const v3 = await kubectl(['get', '--raw', '/openapi/v3']);
    expect(v3.code).not.toBe(0);
    expect(v3.stderr).toMatch(/NotFound|not found/i);
  });
});
