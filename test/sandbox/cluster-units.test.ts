import { X509Certificate } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  PatchError,
} from '../../sandbox/cluster/patch';
import { buildKubeconfig } from '../../sandbox/cluster/kubeconfig';
import { forbiddenMessage, isAllowed, ruleAllows, type PolicyRule } from '../../sandbox/cluster/rbac';
import { GREEN_VERSION, GREEN_VERSIONS, LIVE_VERSION, seedTopology } from '../../sandbox/cluster/seed';
import { parseReleases, RELEASES_ANNOTATION } from '../../src/kernel/domain/release';
import { SANDBOX_APPROVERS, SANDBOX_ENGINEER, sandboxPolicy } from '../../sandbox/users';
import { matchesSelector, parseLabelSelector, selectorToString } from '../../sandbox/cluster/selectors';
import { selfSignedCertificate } from '../../sandbox/cluster/tls';
import { logLine } from '../../sandbox/cluster/logs';
import { humanDuration } from '../../sandbox/cluster/table';
import { templateHash, templatesEqual } from '../../sandbox/cluster/workload';
import { containerImage, defaultPolicy, PRODUCTION, STAGING } from './helpers';

describe('JSON patch (RFC 6902)', () => {
  const doc = { spec: { replicas: 2, list: ['a', 'b'] }, metadata: { labels: { 'a/b': 'x' } } };

  it('applies add, remove, replace, move, copy and test', () => {
    const out = applyJsonPatch(doc, [
      { op: 'test', path: '/spec/replicas', value: 2 },
      { op: 'replace', path: '/spec/replicas', value: 3 },
      { op: 'add', path: '/spec/list/-', value: 'c' },
      { op: 'add', path: '/spec/list/0', value: 'z' },
      { op: 'remove', path: '/spec/list/1' },
      { op: 'copy', from: '/spec/replicas', path: '/spec/copied' },
      { op: 'move', from: '/metadata/labels/a~1b', path: '/metadata/labels/moved' },
    ]);
    expect(out).toEqual({
      spec: { replicas: 3, list: ['z', 'b', 'c'], copied: 3 },
      metadata: { labels: { moved: 'x' } },
    });
    expect(doc.spec.replicas).toBe(2);
  });

  it('fails on a failed test or a missing path', () => {
    expect(() => applyJsonPatch(doc, [{ op: 'test', path: '/spec/replicas', value: 5 }])).toThrow(PatchError);
    expect(() => applyJsonPatch(doc, [{ op: 'replace', path: '/spec/nope', value: 1 }])).toThrow(
      /missing path/,
    );
    expect(() => applyJsonPatch(doc, [{ op: 'remove', path: '/spec/list/7' }])).toThrow(PatchError);
    expect(() => applyJsonPatch(doc, { op: 'add' })).toThrow(/array/);
    expect(() =>
      applyJsonPatch(doc, [{ op: 'test', path: '/spec', value: { list: ['a', 'b'], replicas: 2 } }]),
    ).not.toThrow();
  });
});

describe('merge patch (RFC 7386)', () => {
  it('merges maps, replaces lists and deletes with null', () => {
    expect(
      applyMergePatch({ a: { b: 1, c: 2 }, list: [1, 2], keep: true }, { a: { b: null, d: 4 }, list: [3] }),
    ).toEqual({ a: { c: 2, d: 4 }, list: [3], keep: true });
  });
});

describe('strategic merge patch', () => {
  const deployment = {
    kind: 'Deployment',
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: 'app',
              image: 'app:1',
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
              ports: [{ containerPort: 3000, name: 'http' }],
              volumeMounts: [{ mountPath: '/data', name: 'data' }],
            },
            { name: 'sidecar', image: 'side:1' },
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    },
  };

  it('merges lists by their merge keys', () => {
    const out = applyStrategicMergePatch(
      deployment,
      {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'app:2',
                  env: [
                    { name: 'B', value: 'two' },
                    { name: 'C', value: '3' },
                  ],
                  ports: [{ containerPort: 3000, protocol: 'TCP' }],
                  volumeMounts: [{ mountPath: '/data', readOnly: true }],
                },
              ],
              volumes: [{ name: 'cache', emptyDir: {} }],
            },
          },
        },
      },
      'Deployment',
    );
    const spec = (out as typeof deployment).spec.template.spec;
    expect(spec.containers.map((c) => `${c.name}=${c.image}`)).toEqual(['app=app:2', 'sidecar=side:1']);
    expect(spec.containers[0]?.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: 'two' },
      { name: 'C', value: '3' },
    ]);
    expect(spec.containers[0]?.ports).toEqual([{ containerPort: 3000, name: 'http', protocol: 'TCP' }]);
    expect(spec.containers[0]?.volumeMounts).toEqual([{ mountPath: '/data', name: 'data', readOnly: true }]);
    expect(spec.volumes.map((v) => v.name)).toEqual(['data', 'cache']);
  });

  it('honours $patch: delete and $patch: replace', () => {
    const out = applyStrategicMergePatch(
      deployment,
      {
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'sidecar', $patch: 'delete' },
                { name: 'app', env: [{ name: 'Z', value: '9' }, { $patch: 'replace' }] },
              ],
            },
          },
        },
      },
      'Deployment',
    );
    const containers = (out as typeof deployment).spec.template.spec.containers;
    expect(containers.map((c) => c.name)).toEqual(['app']);
    expect(containers[0]?.env).toEqual([{ name: 'Z', value: '9' }]);

    const replaced = applyStrategicMergePatch(
      { kind: 'Service', spec: { selector: { app: 'x', version: 'blue' } } },
      { spec: { selector: { app: 'x', $patch: 'replace' } } },
      'Service',
    );
    expect(replaced).toEqual({ kind: 'Service', spec: { selector: { app: 'x' } } });
  });

  it('merges Service ports by port and plain maps like a merge patch', () => {
    const out = applyStrategicMergePatch(
      { spec: { selector: { app: 'x', version: 'blue' }, ports: [{ port: 80, targetPort: 3000 }] } },
      { spec: { selector: { version: 'green' }, ports: [{ port: 80, name: 'http' }, { port: 443 }] } },
      'Service',
    );
    expect(out).toEqual({
      spec: {
        selector: { app: 'x', version: 'green' },
        ports: [{ port: 80, targetPort: 3000, name: 'http' }, { port: 443 }],
      },
    });
  });
});

describe('label selectors', () => {
  const labels = { app: 'web', version: 'blue', tier: '2' };

  it.each([
    ['', true],
    ['app=web', true],
    ['app==web,version=blue', true],
    ['app!=web', false],
    ['version in (green, blue)', true],
    ['version notin (blue)', false],
    ['app', true],
    ['!app', false],
    ['!missing', true],
    ['missing!=x', true],
    ['tier>1', true],
    ['app=web,version in (green)', false],
  ])('%s → %s', (selector, expected) => {
    expect(matchesSelector(parseLabelSelector(selector), labels)).toBe(expected);
  });

  it('rejects malformed selectors with a 400', () => {
    expect(() => parseLabelSelector('app===x')).toThrow(expect.objectContaining({ code: 400 }));
    expect(() => parseLabelSelector('version in (a')).toThrow(expect.objectContaining({ code: 400 }));
  });

  it('prints selectors the way the Scale subresource reports them', () => {
    expect(selectorToString(parseLabelSelector('app=web,version in (a,b),!x'))).toBe(
      'app=web,version in (a,b),!x',
    );
  });
});

describe('RBAC rules', () => {
  const rules: PolicyRule[] = [
    {
      apiGroups: ['apps'],
      resources: ['deployments', 'deployments/scale'],
      verbs: ['get', 'patch'],
      namespaces: [STAGING],
    },
    { apiGroups: [''], resources: ['pods/log'], verbs: ['get'], resourceNames: ['p1'] },
    { apiGroups: ['*'], resources: ['*/status'], verbs: ['get'] },
  ];
  const attrs = {
    verb: 'patch',
    apiGroup: 'apps',
    resource: 'deployments',
    subresource: 'scale',
    name: 'x',
    namespace: STAGING,
  };

  it('matches verbs, groups, subresources, names and namespaces', () => {
    expect(isAllowed({ name: 'u', rules }, attrs)).toBe(true);
    expect(isAllowed({ name: 'u', rules }, { ...attrs, namespace: PRODUCTION })).toBe(false);
    expect(isAllowed({ name: 'u', rules }, { ...attrs, verb: 'update' })).toBe(false);
    expect(isAllowed({ name: 'u', rules }, { ...attrs, subresource: undefined, verb: 'get' })).toBe(true);
    expect(
      isAllowed(
        { name: 'u', rules },
        { verb: 'get', apiGroup: '', resource: 'pods', subresource: 'log', name: 'p1', namespace: 'any' },
      ),
    ).toBe(true);
    expect(
      isAllowed(
        { name: 'u', rules },
        { verb: 'get', apiGroup: '', resource: 'pods', subresource: 'log', name: 'p2', namespace: 'any' },
      ),
    ).toBe(false);
    expect(
      ruleAllows(rules[2] as PolicyRule, {
        verb: 'get',
        apiGroup: 'apps',
        resource: 'deployments',
        subresource: 'status',
      }),
    ).toBe(true);
    expect(isAllowed({ name: 'admin' }, { ...attrs, verb: 'delete' })).toBe(true);
  });

  it('words denials like the API server', () => {
    expect(forbiddenMessage('bot', { verb: 'list', apiGroup: '', resource: 'pods' })).toBe(
      'pods is forbidden: User "bot" cannot list resource "pods" in API group "" at the cluster scope',
    );
    expect(forbiddenMessage('bot', attrs)).toBe(
      'deployments.apps "x" is forbidden: User "bot" cannot patch resource "deployments/scale" in API group "apps" in the namespace "azora-staging"',
    );
  });
});

describe('seed topology', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('is a pure function of the policy', () => {
    expect(seedTopology(defaultPolicy(), { now })).toEqual(seedTopology(defaultPolicy(), { now }));
  });

  it('lays out the seed guide platform', () => {
    const objects = seedTopology(defaultPolicy(), { now });
    const names = (kind: string, ns?: string): string[] =>
      objects.filter((o) => o.kind === kind && o.metadata.namespace === ns).map((o) => o.metadata.name);
    expect(names('Namespace')).toEqual([
      'azora-production',
      'azora-staging',
      'default',
      'kube-node-lease',
      'monitoring',
    ]);
    expect(names('Deployment', STAGING)).toEqual([
      'azora-api-gateway',
      'azora-auth',
      'azora-education',
      'azora-payment',
    ]);
    expect(names('Deployment', PRODUCTION)).toHaveLength(8);
    expect(names('HorizontalPodAutoscaler', PRODUCTION)).toEqual(names('Deployment', PRODUCTION));
    expect(names('StatefulSet', STAGING)).toEqual(['postgres-replica', 'postgres']);
    expect(names('ReplicaSet', STAGING)).toHaveLength(12);
    expect(names('ReplicaSet', PRODUCTION)).toHaveLength(16);

    const sts = (ns: string, name: string) =>
      (
        objects.find(
          (o) => o.kind === 'StatefulSet' && o.metadata.namespace === ns && o.metadata.name === name,
        )?.spec as {
          replicas: number;
        }
      ).replicas;
    expect(sts(STAGING, 'postgres-replica')).toBe(0);
    expect(sts(PRODUCTION, 'postgres-replica')).toBe(2);
    expect(sts(PRODUCTION, 'postgres')).toBe(1);

    const blue = objects.find((o) => o.metadata.name === 'azora-payment-blue' && o.kind === 'Deployment');
    expect(containerImage(blue)).toBe('registry.azora.world/azora/payment:v1.5.0');
    expect(blue?.metadata.labels).toEqual({ app: 'azora-payment', version: 'blue' });
    const service = objects.find(
      (o) =>
        o.kind === 'Service' && o.metadata.namespace === PRODUCTION && o.metadata.name === 'azora-payment',
    );
    expect((service?.spec as { selector: unknown }).selector).toEqual({
      app: 'azora-payment',
      version: 'blue',
    });

    const history = objects
      .filter((o) => o.kind === 'ReplicaSet' && o.metadata.ownerReferences?.[0]?.uid === blue?.metadata.uid)
      .map((rs) => [
        rs.metadata.annotations?.['deployment.kubernetes.io/revision'],
        containerImage(rs),
        (rs.spec as { replicas: number }).replicas,
      ]);
    expect(history).toEqual([
      ['1', 'registry.azora.world/azora/payment:v1.4.0', 0],
      ['2', 'registry.azora.world/azora/payment:v1.5.0', 3],
    ]);
    const green = objects.find((o) => o.metadata.name === 'azora-payment-green' && o.kind === 'Deployment');
    expect(containerImage(green)).toBe(`registry.azora.world/azora/payment:${GREEN_VERSION}`);
    expect(
      objects
        .filter(
          (o) => o.kind === 'ReplicaSet' && o.metadata.ownerReferences?.[0]?.uid === green?.metadata.uid,
        )
        .map((rs) => containerImage(rs)),
    ).toEqual(GREEN_VERSIONS.map((v) => `registry.azora.world/azora/payment:${v}`));
    const current = objects.find(
      (o) =>
        o.kind === 'ReplicaSet' &&
        containerImage(o) === containerImage(blue) &&
        o.metadata.namespace === PRODUCTION,
    );
    expect(
      templatesEqual(
        (current?.spec as { template: unknown }).template,
        (blue?.spec as { template: unknown }).template,
      ),
    ).toBe(true);
    expect(current?.metadata.name).toBe(
      `azora-payment-blue-${templateHash((blue?.spec as { template: unknown }).template)}`,
    );
  });
});

describe('seed release history', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const DAY = 24 * 3_600_000;
  const objects = seedTopology(defaultPolicy(), { now });
  const find = (kind: string, ns: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.namespace === ns && o.metadata.name === name);

  it('tells every blue/green Service that green served v1.4.1 before blue went live with v1.5.0', () => {
    for (const service of ['api-gateway', 'auth', 'education', 'payment']) {
      const image = (v: string) => `registry.azora.world/azora/${service}:${v}`;
      const svc = find('Service', PRODUCTION, `azora-${service}`);
      const records = parseReleases(svc?.metadata.annotations?.[RELEASES_ANNOTATION]);
      expect(records).toEqual([
        {
          id: 'seed-1',
          action: 'deploy',
          version: GREEN_VERSION,
          image: image(GREEN_VERSION),
          colour: 'green',
          previous: { colour: 'blue', version: 'v1.4.0', image: image('v1.4.0') },
          requester: SANDBOX_ENGINEER,
          approver: SANDBOX_APPROVERS[0],
          start: now - 14 * DAY - 20 * 60_000,
          end: now - 14 * DAY,
          result: 'succeeded',
        },
        {
          id: 'seed-2',
          action: 'deploy',
          version: LIVE_VERSION,
          image: image(LIVE_VERSION),
          colour: 'blue',
          previous: { colour: 'green', version: GREEN_VERSION, image: image(GREEN_VERSION) },
          requester: SANDBOX_ENGINEER,
          approver: SANDBOX_APPROVERS[1],
          start: now - 7 * DAY - 20 * 60_000,
          end: now - 7 * DAY,
          result: 'succeeded',
        },
      ]);
      // What the history says is what the cluster runs: blue live with v1.5.0, green still holding v1.4.1.
      expect((svc?.spec as { selector: Record<string, string> }).selector.version).toBe('blue');
      expect(containerImage(find('Deployment', PRODUCTION, `azora-${service}-blue`))).toBe(
        image(LIVE_VERSION),
      );
      expect(containerImage(find('Deployment', PRODUCTION, `azora-${service}-green`))).toBe(
        image(GREEN_VERSION),
      );
    }
  });

  it('tells every staging Deployment that v1.5.0 succeeded two days ago', () => {
    for (const service of ['api-gateway', 'auth', 'education', 'payment']) {
      const image = (v: string) => `registry.azora.world/azora/${service}:${v}`;
      const deployment = find('Deployment', STAGING, `azora-${service}`);
      expect(parseReleases(deployment?.metadata.annotations?.[RELEASES_ANNOTATION])).toEqual([
        {
          id: 'seed-1',
          action: 'deploy',
          version: 'v1.5.0',
          image: image('v1.5.0'),
          previous: { version: 'v1.4.1', image: image('v1.4.1') },
          requester: SANDBOX_ENGINEER,
          start: now - 2 * DAY,
          end: now - 2 * DAY + 2 * 60_000,
          result: 'succeeded',
        },
      ]);
      expect(containerImage(deployment)).toBe(image('v1.5.0'));
    }
    // Postgres is not released by the bot: no history.
    expect(
      find('StatefulSet', STAGING, 'postgres')?.metadata.annotations?.[RELEASES_ANNOTATION],
    ).toBeUndefined();
  });

  it('is the same for clusters started moments apart, so two of them can be compared', () => {
    const annotations = (at: number) =>
      seedTopology(defaultPolicy(), { now: at })
        .filter((o) => o.metadata.annotations?.[RELEASES_ANNOTATION])
        .map((o) => o.metadata.annotations?.[RELEASES_ANNOTATION]);
    expect(annotations(now + 12 * 60_000 + 345)).toEqual(annotations(now + 12 * 60_000 + 987));
    expect(annotations(now)).toHaveLength(8);
  });

  it("takes the images from the policy's repository when it names one", () => {
    const policy = defaultPolicy();
    policy.services.payment!.image = 'registry.example/team/pay';
    const seeded = seedTopology(policy, { now });
    const blue = seeded.find((o) => o.kind === 'Deployment' && o.metadata.name === 'azora-payment-blue');
    expect(containerImage(blue)).toBe(`registry.example/team/pay:${LIVE_VERSION}`);
    const svc = seeded.find(
      (o) =>
        o.kind === 'Service' && o.metadata.namespace === PRODUCTION && o.metadata.name === 'azora-payment',
    );
    const [first] = parseReleases(svc?.metadata.annotations?.[RELEASES_ANNOTATION]);
    expect(first?.previous?.image).toBe('registry.example/team/pay:v1.4.0');
  });
});

describe('the sandbox policy', () => {
  it('gives every app service an image repository and smoke checks the simulated app answers', () => {
    const base = defaultPolicy();
    for (const svc of Object.values(base.services)) {
      delete svc.image;
      svc.smoke = [];
    }
    const policy = sandboxPolicy(base);
    for (const [name, svc] of Object.entries(policy.services)) {
      if (svc.deployment) {
        expect(svc.image).toBe(`registry.azora.world/azora/${name}`);
        expect(svc.smoke).toEqual([{ path: '/version', status: 200 }]);
      } else {
        expect(svc.smoke).toEqual([]);
      }
    }
    // The operator's own choices stay.
    const own = defaultPolicy();
    own.services.payment!.smoke = [{ path: '/api/pay/ping', status: 204 }];
    own.services.payment!.image = 'registry.example/team/pay';
    expect(sandboxPolicy(own).services.payment).toMatchObject({
      image: 'registry.example/team/pay',
      smoke: [{ path: '/api/pay/ping', status: 204 }],
    });
    // The operator's policy object is not changed.
    expect(base.services.payment?.smoke).toEqual([]);
  });
});

describe('support pieces', () => {
  it('issues a certificate for the listening addresses', () => {
    const { certPem } = selfSignedCertificate(['127.0.0.1', 'localhost', '::1']);
    const cert = new X509Certificate(certPem);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.verify(cert.publicKey)).toBe(true);
  });

  it('writes a kubeconfig with the policy contexts', () => {
    const policy = defaultPolicy();
    if (policy.environments.production) policy.environments.production.context = 'gke-azora-prod';
    const config = parseYaml(
      buildKubeconfig('https://127.0.0.1:1', 't0k', 'admin', policy, { contexts: ['extra'] }),
    ) as {
      'current-context': string;
      contexts: Array<{ name: string; context: { namespace?: string } }>;
      users: Array<{ user: { token: string } }>;
    };
    expect(config['current-context']).toBe('azora-sandbox');
    expect(config.contexts.map((c) => [c.name, c.context.namespace])).toEqual([
      ['azora-sandbox', undefined],
      ['gke-azora-prod', PRODUCTION],
      ['extra', undefined],
    ]);
    expect(config.users[0]?.user.token).toBe('t0k');
  });

  it('formats ages like kubectl', () => {
    expect(humanDuration(59_000)).toBe('59s');
    expect(humanDuration(5 * 60_000 + 3_000)).toBe('5m3s');
    expect(humanDuration(3 * 3600_000 + 5 * 60_000)).toBe('3h5m');
    expect(humanDuration(30 * 24 * 3600_000)).toBe('30d');
  });

  it('writes deterministic log lines, some of them carrying secrets', () => {
    const src = {
      pod: 'p',
      container: 'payment',
      image: 'registry.azora.world/azora/payment:v1.5.0',
      startMs: 0,
    };
    const lines = Array.from({ length: 400 }, (_, i) => logLine(src, i, i * 1000));
    expect(lines).toEqual(Array.from({ length: 400 }, (_, i) => logLine(src, i, i * 1000)));
    expect(lines.filter((l) => /password=|Authorization: Bearer|api_key=/.test(l)).length).toBeGreaterThan(3);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      level: 'info',
      version: 'v1.5.0',
      msg: 'server listening',
    });
  });
});
