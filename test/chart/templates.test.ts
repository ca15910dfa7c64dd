import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { defaultPolicyPath, loadPolicy } from '../../src/config/policy';
import { chartPath, defaultValues, readChartFile, readChartYaml, REPO } from './chart';

/**
 * There is no helm binary here, so the templates are not rendered (the chart README says how
 * to render and lint them where helm exists). What is checked is what can be checked
 * honestly without Go templates: the files the templates read, the names they use against
 * values.yaml and the bot's own configuration, and the template actions' nesting.
 */

const TEMPLATES = [
  '_helpers.tpl',
  'NOTES.txt',
  'configmap-policy.yaml',
  'dashboard.yaml',
  'deployment.yaml',
  'hpa.yaml',
  'ingress.yaml',
  'networkpolicy.yaml',
  'pdb.yaml',
  'prometheusrule.yaml',
  'rbac.yaml',
  'sealedsecret.yaml',
  'service.yaml',
  'serviceaccount.yaml',
  'servicemonitor.yaml',
];

const template = (name: string) => readChartFile('templates', name);
const allTemplates = () => TEMPLATES.map((name) => ({ name, text: template(name) }));

/** The keys of the bot's Secret (existingSecret), as values.schema.json allows them in sealedSecret.encryptedData. */
const SECRET_KEYS = [
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'REDIS_URL',
  'ALERTMANAGER_WEBHOOK_TOKEN',
  'PAGERDUTY_ROUTING_KEY',
  'PAGERDUTY_API_TOKEN',
];

describe('the chart files', () => {
  it('has exactly the expected templates', () => {
    expect(readdirSync(chartPath('templates')).sort()).toEqual([...TEMPLATES].sort());
  });

  it('has a Chart.yaml Helm 3 accepts', () => {
    expect(readChartYaml('Chart.yaml')).toMatchObject({
      apiVersion: 'v2',
      name: 'azora-chatops',
      type: 'application',
      version: expect.stringMatching(/^\d+\.\d+\.\d+$/),
    });
  });

  it.each([
    'files/rbac-rules.yaml',
    'files/policy.yaml',
    'files/prometheus-rules.yaml',
    'files/prometheus-rules.test.yaml',
    'files/alertmanager.yaml',
    'files/slack-app-manifest.yaml',
    'ci/production-values.yaml',
    'values.yaml',
  ])('%s is YAML', (file) => {
    expect(parse(readChartFile(file))).toEqual(expect.any(Object));
  });

  it('ships the default policy unchanged: files/policy.yaml is src/config/default-policy.yaml', () => {
    // Helm cannot read outside the chart, so the chart keeps a copy; it must not drift.
    // After changing the policy: cp src/config/default-policy.yaml charts/azora-chatops/files/policy.yaml
    expect(readChartFile('files', 'policy.yaml')).toBe(readFileSync(defaultPolicyPath(), 'utf8'));
    const policy = loadPolicy(chartPath('files', 'policy.yaml'));
    const policyNamespaces = Object.values(policy.environments).map((e) => e!.namespace);
    expect((defaultValues().rbac as { namespaces: string[] }).namespaces.sort()).toEqual(
      policyNamespaces.sort(),
    );
  });
});

describe('the templates', () => {
  it('nest their actions: every if, range, with and define has its end', () => {
    for (const { name, text } of allTemplates()) {
      const actions = [...text.matchAll(/{{-?\s*(\/\*[\s\S]*?\*\/|[^}]*?)\s*-?}}/g)].map((m) => m[1]!.trim());
      expect({ name, actions: actions.length }).toEqual({ name, actions: (text.match(/{{/g) ?? []).length });
      let depth = 0;
      const problems: string[] = [];
      for (const action of actions) {
        if (/^(if|range|with|define|block)\b/.test(action)) depth++;
        else if (/^end\b/.test(action) && --depth < 0) problems.push(`${name}: an end without a block`);
        else if (/^else\b/.test(action) && depth === 0) problems.push(`${name}: an else outside a block`);
      }
      if (depth > 0) problems.push(`${name}: ${depth} block(s) without an end`);
      expect(problems).toEqual([]);
    }
  });

  it('use only values that values.yaml defines', () => {
    const values = defaultValues();
    const has = (keys: string[]) =>
      keys.reduce<unknown>(
        (node, key) =>
          typeof node === 'object' && node !== null && key in node
            ? (node as Record<string, unknown>)[key]
            : undefined,
        values,
      ) !== undefined;
    const missing: string[] = [];
    for (const { name, text } of allTemplates()) {
      for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
        const keys = m[1]!.slice(1).split('.');
        if (!has(keys)) missing.push(`${name}: .Values.${keys.join('.')}`);
      }
      for (const m of text.matchAll(/\$np((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
        const keys = ['networkPolicy', ...m[1]!.slice(1).split('.')];
        if (!has(keys)) missing.push(`${name}: .Values.${keys.join('.')}`);
      }
      // Per-role values: `$values` is .Values.web or .Values.worker.
      for (const m of text.matchAll(/\$values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
        const keys = m[1]!.slice(1).split('.');
        const roles = keys[0] === 'autoscaling' ? ['web'] : ['web', 'worker'];
        for (const role of roles)
          if (!has([role, ...keys])) missing.push(`${name}: .Values.${role}.${keys.join('.')}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('set only environment variables the bot reads, and read only the documented Secret keys', () => {
    const envSource = readFileSync(path.join(REPO, 'src/config/env.ts'), 'utf8');
    const known = new Set([...envSource.matchAll(/^ {4}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!));
    // client-node reads KUBECONFIG itself (loadFromDefault), not src/config/env.ts.
    known.add('KUBECONFIG');
    expect(known).toContain('SLACK_BOT_TOKEN');
    const deployment = template('deployment.yaml');
    const named = [
      ...[...deployment.matchAll(/- name: ([A-Z][A-Z0-9_]+)$/gm)].map((m) => m[1]!),
      ...[...deployment.matchAll(/list ((?:"[A-Z0-9_]+"\s*)+)/g)].flatMap((m) => m[1]!.match(/[A-Z0-9_]+/g)!),
    ];
    expect(named.filter((name) => !known.has(name))).toEqual([]);
    for (const key of SECRET_KEYS) expect(named).toContain(key);

    const schema = readChartYaml<{
      properties: { sealedSecret: { properties: { encryptedData: { properties: object } } } };
    }>('values.schema.json');
    expect(Object.keys(schema.properties.sealedSecret.properties.encryptedData.properties).sort()).toEqual(
      [...SECRET_KEYS].sort(),
    );
  });

  it('run the image as the Dockerfile user, locked down, with the guide resources', () => {
    const deployment = template('deployment.yaml');
    for (const line of [
      'runAsNonRoot: true',
      'runAsUser: 1000',
      'readOnlyRootFilesystem: true',
      'allowPrivilegeEscalation: false',
      'drop: [ALL]',
      'type: RuntimeDefault',
      'mountPath: /tmp',
      'path: /healthz',
      'path: /readyz',
      'containerPort: 3000',
      'value: /etc/azora/policy.yaml',
      'mountPath: /etc/azora',
      'args: [{{ $role | quote }}]',
    ]) {
      expect(deployment).toContain(line);
    }
    expect(deployment).toMatch(/range \$role := list "web" "worker"/);
    expect(readFileSync(path.join(REPO, 'Dockerfile'), 'utf8')).toMatch(/^USER 1000:1000$/m);
    for (const role of ['web', 'worker']) {
      expect((defaultValues()[role] as { resources: unknown }).resources).toEqual({
        requests: { cpu: '250m', memory: '256Mi' },
        limits: { cpu: '500m', memory: '512Mi' },
      });
    }
  });

  it('expose through the Ingress only the paths the bot serves to Slack and Alertmanager, with cert-manager TLS', () => {
    const ingress = template('ingress.yaml');
    expect(ingress).toContain('cert-manager.io/cluster-issuer: {{ .Values.ingress.clusterIssuer | quote }}');
    expect(ingress).toContain('range $path := list "/slack/events" "/alertmanager"');
    expect(ingress).toContain('pathType: Exact');
    const server = readFileSync(path.join(REPO, 'handlers/alertmanager.ts'), 'utf8');
    expect(server).toContain("path: '/alertmanager'");
  });

  it('scrape both roles: the web Service and the worker pods, which Prometheus alone may reach', () => {
    const [service, pods] = template('servicemonitor.yaml').split(/^---$/m) as [string, string];
    expect(service).toContain('kind: ServiceMonitor');
    expect(service).toContain('app.kubernetes.io/component: web');
    expect(pods).toContain('kind: PodMonitor');
    expect(pods).toContain('include "azora-chatops.roleSelectorLabels" (dict "root" . "role" "worker")');
    expect(pods).toMatch(/podMetricsEndpoints:\n\s+- port: http\n\s+path: \/metrics\n/);
    for (const monitor of [service, pods]) expect(monitor).toContain('.Values.serviceMonitor.interval');

    const worker = template('networkpolicy.yaml')
      .split(/^---$/m)
      .find((d) => d.includes('-worker\n'))!;
    const ingress =
      /\{\{- if \.Values\.serviceMonitor\.enabled \}\}\n\s+ingress:\n([\s\S]*?)\{\{- end \}\}/.exec(worker);
    expect(ingress?.[1]).toContain('include "azora-chatops.podPeer" $np.prometheus');
    expect(ingress?.[1]).toMatch(/port: http\n/);
    expect(ingress?.[1]).not.toContain('ingressController');
  });

  it('give the web role no Kubernetes token, because its code calls no cluster, PagerDuty or Alertmanager API', () => {
    expect(template('deployment.yaml')).toContain('automountServiceAccountToken: {{ eq $role "worker" }}');
    const webCode = ['handlers', 'src/web'].flatMap((dir) =>
      readdirSync(path.join(REPO, dir))
        .filter((f) => f.endsWith('.ts'))
        .map((f) => ({ file: `${dir}/${f}`, text: readFileSync(path.join(REPO, dir, f), 'utf8') })),
    );
    const calls = webCode.flatMap(({ file, text }) =>
      [...text.matchAll(/\.(kube|pagerduty|alertmanager)\b\s*[.?]/g)].map((m) => `${file}: ${m[0]}`),
    );
    expect(calls).toEqual([]);
  });
});
