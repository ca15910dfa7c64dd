import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SimulatedCluster } from '../../sandbox/cluster';
import { kubectlVersion, SYSTEM_KUBECTL, tools } from '../setup/tools';
import {
  containerImage,
  runKubectl,
  specOf,
  STAGING,
  startCluster,
  startClusterForKubectl,
  type ClusterForKubectl,
} from './helpers';

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
  let sim: ClusterForKubectl;
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
    sim = await startClusterForKubectl('manifests');
    ({ cluster, dir, kubeconfig } = sim);
    file = path.join(dir, 'deployment.yaml');
  });
  afterAll(() => sim?.stop());

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

  it('creates with the generators, which send protobuf: create deployment|job|service|namespace, autoscale', async () => {
    const app = 'generated-app';
    expect(
      await ok([
        'create',
        'deployment',
        app,
        '--image=nginx:1.27',
        '--replicas=2',
        '--port=8080',
        '-n',
        STAGING,
      ]),
    ).toContain(`deployment.apps/${app} created`);
    const created = cluster.get('Deployment', STAGING, app);
    expect(created?.metadata.labels).toEqual({ app });
    expect(specOf<{ replicas: number; selector: unknown }>(created)).toMatchObject({
      replicas: 2,
      selector: { matchLabels: { app } },
    });
    expect(containerImage(created)).toBe('nginx:1.27');
    expect(await ok(['rollout', 'status', `deployment/${app}`, '-n', STAGING, '--timeout=30s'])).toContain(
      'successfully rolled out',
    );

    expect(
      await ok(['create', 'job', 'generated-job', '--image=busybox', '-n', STAGING, '--', 'echo', 'hi']),
    ).toContain('job.batch/generated-job created');
    const job = specOf<{ template: { spec: { containers: { command: string[] }[] } } }>(
      cluster.get('Job', STAGING, 'generated-job'),
    );
    expect(job.template.spec.containers[0]!.command).toEqual(['echo', 'hi']);

    expect(
      await ok(['autoscale', `deployment/${app}`, '--min=2', '--max=6', '--cpu-percent=70', '-n', STAGING]),
    ).toContain(`horizontalpodautoscaler.autoscaling/${app} autoscaled`);
    expect(await ok(['create', 'service', 'clusterip', app, '--tcp=80:8080', '-n', STAGING])).toContain(
      `service/${app} created`,
    );
    const service = specOf<{ ports: object[] }>(cluster.get('Service', STAGING, app));
    expect(service).toMatchObject({ type: 'ClusterIP', selector: { app } });
    // No zero nodePort, which Go's protobuf encoder writes and its JSON leaves out.
    expect(service.ports).toEqual([{ name: '80-8080', port: 80, targetPort: 8080, protocol: 'TCP' }]);
    expect(await ok(['create', 'namespace', 'generated-ns'])).toContain('namespace/generated-ns created');
    expect(cluster.get('Namespace', undefined, 'generated-ns')).toBeDefined();
    const hpa = await ok(['get', 'hpa', app, '-n', STAGING, '-o', 'json']);
    expect((JSON.parse(hpa) as { spec: unknown }).spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: app },
      minReplicas: 2,
      maxReplicas: 6,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ],
    });
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

/** What kubectl's generators send is all the simulator reads of protobuf; anything else is refused, saying why. */
describe('protobuf bodies the simulated cluster cannot read', () => {
  let cluster: SimulatedCluster;
  beforeAll(async () => {
    cluster = await startCluster();
  });
  afterAll(() => cluster.stop());

  const post = (resource: string, body: Buffer) =>
    fetch(`${cluster.url}/${resource}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${cluster.adminToken}`,
        'content-type': 'application/vnd.kubernetes.protobuf',
      },
      body,
    }).then(async (res) => ({
      code: res.status,
      message: ((await res.json()) as { message: string }).message,
    }));
  // Protobuf fields as Go's encoder writes them (small ones: one-byte tags, lengths and values).
  const msg = (n: number, ...parts: Buffer[]) => {
    const bytes = Buffer.concat(parts);
    return Buffer.concat([Buffer.from([(n << 3) | 2, bytes.length]), bytes]);
  };
  const str = (n: number, text: string) => msg(n, Buffer.from(text));
  const int = (n: number, value: number) => Buffer.from([n << 3, value]);
  /** The envelope around a runtime.Unknown of `typeMeta` (apiVersion 1, kind 2) and `raw`. */
  const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
    Buffer.concat([Buffer.from('k8s\0', 'latin1'), msg(1, str(1, apiVersion), str(2, kind)), msg(2, raw)]);
  const deployments = `apis/apps/v1/namespaces/${STAGING}/deployments`;

  it('refuses a body without the k8s envelope, a truncated one and an unread kind, changing nothing', async () => {
    const before = cluster.list('Deployment', STAGING).length;
    expect(await post(deployments, Buffer.from('{"kind":"Deployment"}'))).toEqual({
      code: 400,
      message: 'the protobuf body does not start with the k8s envelope',
    });
    const whole = envelope('apps/v1', 'Deployment', Buffer.from([0x0a, 0x03, 0x0a, 0x01, 0x78]));
    expect(await post(deployments, whole.subarray(0, whole.length - 2))).toEqual({
      code: 400,
      message: 'the protobuf body ends inside a field',
    });
    const unread = await post(deployments, envelope('apps/v1', 'StatefulSet', Buffer.alloc(0)));
    expect(unread.code).toBe(415);
    expect(unread.message).toContain('application/vnd.kubernetes.protobuf of apps/v1 StatefulSet');
    expect(cluster.list('Deployment', STAGING)).toHaveLength(before);
  });

  it('reads Go’s zero values as JSON would have them: an unset targetPort is the port, a zero maxUnavailable 0', async () => {
    // An IntOrString that is no pointer comes as {type 0, intVal 0, strVal ''} when unset.
    const zero = msg(4, int(1, 0), int(2, 0), str(3, ''));
    const service = envelope(
      'v1',
      'Service',
      Buffer.concat([msg(1, str(1, 'zero-port')), msg(2, msg(1, int(3, 80), zero))]),
    );
    expect((await post(`api/v1/namespaces/${STAGING}/services`, service)).code).toBe(201);
    expect(specOf<{ ports: object[] }>(cluster.get('Service', STAGING, 'zero-port')).ports).toEqual([
      { port: 80, targetPort: 80, protocol: 'TCP' },
    ]);

    const labels = (n: number) => msg(n, str(1, 'app'), str(2, 'zs'));
    const deployment = envelope(
      'apps/v1',
      'Deployment',
      Buffer.concat([
        msg(1, str(1, 'zero-surge'), labels(11)),
        msg(
          2,
          int(1, 1),
          msg(2, labels(1)),
          msg(3, msg(1, labels(11)), msg(2, msg(2, str(1, 'c'), str(2, 'nginx:1.27')))),
          // A pointer IntOrString set to 0 is written the same way, and means 0.
          msg(4, str(1, 'RollingUpdate'), msg(2, msg(1, int(1, 0), int(2, 0)), msg(2, int(1, 0), int(2, 1)))),
        ),
      ]),
    );
    expect((await post(deployments, deployment)).code).toBe(201);
    expect(specOf<{ strategy: unknown }>(cluster.get('Deployment', STAGING, 'zero-surge')).strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
  });
});
