import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/env';
import { defaultPolicyPath, loadPolicy } from '../../src/config/policy';
import {
  chartPath,
  defaultValues,
  manifestsOf,
  readChartFile,
  readChartYaml,
  renderChart,
  renderNotes,
  REPO,
  type Manifest,
  type RenderOptions,
  type Values,
} from './chart';

/**
 * The templates as helm 4 renders them (renderChart in ./chart.ts runs `helm template`;
 * ./helm.test.ts lints the chart and checks every object against the Kubernetes schemas),
 * and the rest on the files: the files the templates read, the names they use against
 * values.yaml and the bot's own configuration, and the template actions' nesting.
 */

const TEMPLATES = [
  '_helpers.tpl',
  'NOTES.txt',
  'configmap-backup-scripts.yaml',
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
  'SLACK_APP_TOKEN',
  'REDIS_URL',
  'REDIS_USERNAME',
  'REDIS_PASSWORD',
  'REDIS_TLS_CA',
  'REDIS_TLS_CERT',
  'REDIS_TLS_KEY',
  'ALERTMANAGER_WEBHOOK_TOKEN',
  'PAGERDUTY_ROUTING_KEY',
  'PAGERDUTY_API_TOKEN',
  'ALERTMANAGER_URL',
  'PROMETHEUS_BEARER_TOKEN',
  'PROMETHEUS_PASSWORD',
];

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}
interface PodSpec {
  containers: Array<{
    env: EnvVar[];
    volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  }>;
  volumes: Array<{
    name: string;
    secret?: { secretName: string; optional?: boolean; items?: Array<{ key: string; path: string }> };
  }>;
}

/** The web and worker pod specs as the chart renders them. */
function pods(options: RenderOptions = {}): Record<'web' | 'worker', PodSpec> {
  const deployments = manifestsOf(renderChart(options), 'Deployment');
  const spec = (role: string) =>
    (
      deployments.find((d) => d.metadata.name === `azora-chatops-${role}`) as Manifest & {
        spec: { template: { spec: PodSpec } };
      }
    ).spec.template.spec;
  return { web: spec('web'), worker: spec('worker') };
}

/** name → where its value comes from: a Secret key (`secret:KEY`, `?` when optional) or the value itself. */
const envOf = (pod: PodSpec): Record<string, string> =>
  Object.fromEntries(
    pod.containers[0]!.env.map((e) => {
      const ref = e.valueFrom?.secretKeyRef;
      return [e.name, ref ? `secret:${ref.key}${ref.optional ? '?' : ''}` : (e.value ?? '')];
    }),
  );

/** The Secret keys a pod reads: by environment variable and as files. */
const secretKeysOf = (pod: PodSpec): string[] => [
  ...pod.containers[0]!.env.flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.key] : [])),
  ...pod.volumes.flatMap((v) =>
    v.secret?.secretName === 'azora-chatops' ? (v.secret.items ?? []).map((i) => i.key) : [],
  ),
];

const WITH_REDIS_CA: Values = { config: { redisTlsCa: true } };

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
    'files/slack-app-manifest.socket-mode.yaml',
    'ci/production-values.yaml',
    'ci/socket-mode-values.yaml',
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
    // Every optional variable on (Socket Mode reads the app token, and the signing secret if there).
    const everything: Values = {
      slack: { socketMode: true },
      kubeconfigSecret: 'azora-kubeconfig',
      config: {
        redisTlsCa: true,
        redisTlsClient: true,
        redisClusterNodes: 'redis-0:6379',
        pagerdutyFromEmail: 'sre@azora.world',
      },
      prometheus: { url: 'http://prometheus-operated.monitoring.svc:9090', username: 'azora-chatops' },
    };
    const read = new Set<string>();
    for (const pod of Object.values(pods({ values: everything }))) {
      for (const name of Object.keys(envOf(pod)))
        expect({ name, readByTheBot: known.has(name) }).toEqual({ name, readByTheBot: true });
      for (const key of secretKeysOf(pod)) read.add(key);
    }
    expect([...read].sort()).toEqual([...SECRET_KEYS].sort());

    const schema = readChartYaml<{
      properties: { sealedSecret: { properties: { encryptedData: { properties: object } } } };
    }>('values.schema.json');
    expect(Object.keys(schema.properties.sealedSecret.properties.encryptedData.properties).sort()).toEqual(
      [...SECRET_KEYS].sort(),
    );
  });

  it('pass each role its credentials from the Secret only: required keys required, the rest optional', () => {
    const { web, worker } = pods();
    const shared = {
      SLACK_BOT_TOKEN: 'secret:SLACK_BOT_TOKEN',
      SLACK_SIGNING_SECRET: 'secret:SLACK_SIGNING_SECRET',
      REDIS_URL: 'secret:REDIS_URL',
      REDIS_USERNAME: 'secret:REDIS_USERNAME?',
      REDIS_PASSWORD: 'secret:REDIS_PASSWORD?',
    };
    expect(envOf(web)).toMatchObject({
      ...shared,
      ALERTMANAGER_WEBHOOK_TOKEN: 'secret:ALERTMANAGER_WEBHOOK_TOKEN?',
    });
    expect(envOf(worker)).toMatchObject({
      ...shared,
      PAGERDUTY_ROUTING_KEY: 'secret:PAGERDUTY_ROUTING_KEY?',
      PAGERDUTY_API_TOKEN: 'secret:PAGERDUTY_API_TOKEN?',
      // It may hold user:password, so never a plain value.
      ALERTMANAGER_URL: 'secret:ALERTMANAGER_URL?',
    });
    // Each role only what its code uses.
    for (const key of ['ALERTMANAGER_URL', 'PAGERDUTY_ROUTING_KEY', 'PAGERDUTY_API_TOKEN'])
      expect(envOf(web)).not.toHaveProperty(key);
    expect(envOf(worker)).not.toHaveProperty('ALERTMANAGER_WEBHOOK_TOKEN');
    // REDIS_URL may be absent only when the cluster nodes replace it.
    expect(envOf(pods({ values: { config: { redisClusterNodes: 'redis-0:6379' } } }).worker).REDIS_URL).toBe(
      'secret:REDIS_URL?',
    );
    // No value of a Secret key is ever written into the pod spec.
    for (const pod of [web, worker])
      for (const e of pod.containers[0]!.env)
        if (SECRET_KEYS.includes(e.name)) expect(e.valueFrom?.secretKeyRef).toBeDefined();
  });

  it("give the worker Prometheus for the alert graphs: its URL a value, its credentials the Secret's, none without a URL", () => {
    const url = 'http://prometheus-operated.monitoring.svc:9090';
    const none = pods();
    for (const pod of [none.web, none.worker])
      expect(Object.keys(envOf(pod)).filter((name) => name.startsWith('PROMETHEUS_'))).toEqual([]);

    const withToken = pods({ values: { prometheus: { url } } });
    expect(envOf(withToken.worker)).toMatchObject({
      PROMETHEUS_URL: url,
      PROMETHEUS_BEARER_TOKEN: 'secret:PROMETHEUS_BEARER_TOKEN?',
    });
    expect(envOf(withToken.worker)).not.toHaveProperty('PROMETHEUS_USERNAME');
    expect(envOf(withToken.worker)).not.toHaveProperty('PROMETHEUS_PASSWORD');
    // The graphs are drawn by the worker's jobs: the web role asks Prometheus nothing.
    expect(Object.keys(envOf(withToken.web)).filter((name) => name.startsWith('PROMETHEUS_'))).toEqual([]);

    // Basic auth: the user a value, the password from the Secret and required with it, so a
    // pod whose Secret lacks it waits for it rather than the bot refusing half a login.
    const basic = pods({ values: { prometheus: { url, username: 'azora-chatops' } } });
    expect(envOf(basic.worker)).toMatchObject({
      PROMETHEUS_URL: url,
      PROMETHEUS_USERNAME: 'azora-chatops',
      PROMETHEUS_PASSWORD: 'secret:PROMETHEUS_PASSWORD',
    });
    // What the bot makes of those variables.
    expect(
      loadConfig({
        SLACK_BOT_TOKEN: 'xoxb-1',
        SLACK_SIGNING_SECRET: 's',
        PROMETHEUS_URL: url,
        PROMETHEUS_USERNAME: 'azora-chatops',
        PROMETHEUS_PASSWORD: 'pw',
      }).prometheus,
    ).toEqual({ url, username: 'azora-chatops', password: 'pw' });
    // A user without a URL asks nothing of anyone.
    expect(
      Object.keys(envOf(pods({ values: { prometheus: { username: 'azora-chatops' } } }).worker)).filter(
        (name) => name.startsWith('PROMETHEUS_'),
      ),
    ).toEqual([]);
  });

  it("let the worker reach Prometheus' pods on its port, only when it queries one", () => {
    interface Rule {
      to: Array<{
        namespaceSelector?: { matchLabels: Record<string, string> };
        podSelector?: { matchLabels: Record<string, string> };
      }>;
      ports: Array<{ protocol: string; port: number | string }>;
    }
    const workerEgress = (values?: Values) =>
      (
        manifestsOf(renderChart({ values }), 'NetworkPolicy').find((n) =>
          n.metadata.name.endsWith('-worker'),
        ) as Manifest & { spec: { egress: Rule[] } }
      ).spec.egress;
    const toPrometheus = (rules: Rule[]) =>
      rules.filter((r) =>
        r.to.some((peer) => peer.podSelector?.matchLabels['app.kubernetes.io/name'] === 'prometheus'),
      );
    expect(toPrometheus(workerEgress())).toEqual([]);
    expect(
      toPrometheus(workerEgress({ prometheus: { url: 'http://prometheus-operated.monitoring.svc:9090' } })),
    ).toEqual([
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
            podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
          },
        ],
        ports: [{ protocol: 'TCP', port: 9090 }],
      },
    ]);
    const elsewhere = workerEgress({
      prometheus: { url: 'http://thanos-query.observability.svc:10902' },
      networkPolicy: {
        prometheus: {
          namespace: 'observability',
          podLabels: { 'app.kubernetes.io/name': 'prometheus' },
          port: 10902,
        },
      },
    });
    expect(toPrometheus(elsewhere)[0]).toMatchObject({
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } } }],
      ports: [{ protocol: 'TCP', port: 10902 }],
    });
  });

  it('in Socket Mode pass the app token, required, and the signing secret only if the Secret has it; over HTTP no app token', () => {
    const http = pods();
    const socket = pods({ values: { slack: { socketMode: true } } });
    for (const role of ['web', 'worker'] as const) {
      expect(envOf(http[role])).not.toHaveProperty('SLACK_APP_TOKEN');
      expect(envOf(http[role]).SLACK_SIGNING_SECRET).toBe('secret:SLACK_SIGNING_SECRET');
      // The worker too: the bot's start-up check wants a signing secret or an app token.
      expect(envOf(socket[role])).toMatchObject({
        SLACK_BOT_TOKEN: 'secret:SLACK_BOT_TOKEN',
        SLACK_APP_TOKEN: 'secret:SLACK_APP_TOKEN',
        SLACK_SIGNING_SECRET: 'secret:SLACK_SIGNING_SECRET?',
      });
    }
    // What the bot makes of those variables: Socket Mode with the app token, no secret needed.
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }).slack).toEqual({
      botToken: 'xoxb-1',
      appToken: 'xapp-1',
    });
  });

  it('refuse an autoscaler whose minimum exceeds its maximum, as the API server would', () => {
    expect(() =>
      renderChart({ values: { web: { autoscaling: { minReplicas: 8, maxReplicas: 4 } } } }),
    ).toThrow(/web\.autoscaling: minReplicas \(8\) exceeds maxReplicas \(4\)/);
  });

  it('refuse more web replicas in Socket Mode than Slack allows connections (10 per app)', () => {
    expect(() =>
      renderChart({ values: { slack: { socketMode: true }, web: { autoscaling: { maxReplicas: 11 } } } }),
    ).toThrow(/slack\.socketMode: Slack allows 10 Socket Mode connections per app.*\(11\)/);
    expect(() =>
      renderChart({
        values: { slack: { socketMode: true }, web: { replicas: 12, autoscaling: { enabled: false } } },
      }),
    ).toThrow(/at most 10 web replicas \(12\)/);
    // Over HTTP there is no such limit.
    expect(() => renderChart({ values: { web: { autoscaling: { maxReplicas: 11 } } } })).not.toThrow();
  });

  it('mount the Redis CA from the Secret as a file for both roles, only when the Secret has it', () => {
    for (const pod of Object.values(pods())) {
      expect(envOf(pod)).not.toHaveProperty('REDIS_TLS_CA_FILE');
      expect(pod.volumes.map((v) => v.name)).not.toContain('redis-tls');
    }
    const sealed: Values = { sealedSecret: { encryptedData: { REDIS_TLS_CA: 'AgB…' } } };
    for (const values of [WITH_REDIS_CA, sealed]) {
      for (const pod of Object.values(pods({ values }))) {
        expect(envOf(pod).REDIS_TLS_CA_FILE).toBe('/var/run/azora/redis-tls/ca.crt');
        expect(pod.containers[0]!.volumeMounts).toContainEqual({
          name: 'redis-tls',
          mountPath: '/var/run/azora/redis-tls',
          readOnly: true,
        });
        // Not optional: the values say the key is there, and the bot reads the file at start-up.
        expect(pod.volumes.find((v) => v.name === 'redis-tls')).toEqual({
          name: 'redis-tls',
          secret: {
            secretName: 'azora-chatops',
            defaultMode: 0o440,
            items: [{ key: 'REDIS_TLS_CA', path: 'ca.crt' }],
          },
        });
      }
    }
  });

  it('mount a Redis client certificate and its key beside the CA, only when the Secret has them', () => {
    for (const pod of Object.values(pods({ values: WITH_REDIS_CA }))) {
      expect(envOf(pod)).not.toHaveProperty('REDIS_TLS_CERT_FILE');
    }
    const both: Values = { config: { redisTlsCa: true, redisTlsClient: true } };
    const sealed: Values = {
      sealedSecret: { encryptedData: { REDIS_TLS_CERT: 'AgB…', REDIS_TLS_KEY: 'AgC…' } },
    };
    for (const [values, items] of [
      [
        both,
        [
          { key: 'REDIS_TLS_CA', path: 'ca.crt' },
          { key: 'REDIS_TLS_CERT', path: 'tls.crt' },
          { key: 'REDIS_TLS_KEY', path: 'tls.key' },
        ],
      ],
      [
        sealed,
        [
          { key: 'REDIS_TLS_CERT', path: 'tls.crt' },
          { key: 'REDIS_TLS_KEY', path: 'tls.key' },
        ],
      ],
    ] as const) {
      for (const pod of Object.values(pods({ values }))) {
        expect(envOf(pod).REDIS_TLS_CERT_FILE).toBe('/var/run/azora/redis-tls/tls.crt');
        expect(envOf(pod).REDIS_TLS_KEY_FILE).toBe('/var/run/azora/redis-tls/tls.key');
        expect(pod.volumes.find((v) => v.name === 'redis-tls')).toEqual({
          name: 'redis-tls',
          secret: { secretName: 'azora-chatops', defaultMode: 0o440, items },
        });
      }
    }
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
    expect(ingress).toContain('pathType: Exact');
    const server = readFileSync(path.join(REPO, 'handlers/alertmanager.ts'), 'utf8');
    expect(server).toContain("path: '/alertmanager'");
    const paths = (values?: Values) =>
      (
        manifestsOf(renderChart({ values }), 'Ingress')[0] as Manifest & {
          spec: { rules: Array<{ http: { paths: Array<{ path: string; pathType: string }> } }> };
        }
      ).spec.rules[0]!.http.paths.map((p) => `${p.pathType} ${p.path}`);
    expect(paths()).toEqual(['Exact /slack/events', 'Exact /alertmanager']);
    // In Socket Mode Slack comes over the web pods' WebSocket: the webhook alone.
    expect(paths({ slack: { socketMode: true } })).toEqual(['Exact /alertmanager']);
  });

  it('let Alertmanager reach the web pods itself when there is no Ingress, and only then', () => {
    const webIngress = (values?: Values) =>
      (
        manifestsOf(renderChart({ values }), 'NetworkPolicy').find((n) =>
          n.metadata.name.endsWith('-web'),
        ) as Manifest & {
          spec: { ingress: Array<{ from: Array<{ podSelector: { matchLabels: Record<string, string> } }> }> };
        }
      ).spec.ingress[0]!.from.map((peer) => peer.podSelector.matchLabels['app.kubernetes.io/name']);
    expect(webIngress()).toEqual(['ingress-nginx', 'prometheus']);
    expect(webIngress({ ingress: { enabled: false } })).toEqual([
      'ingress-nginx',
      'prometheus',
      'alertmanager',
    ]);
    expect(manifestsOf(renderChart({ valuesFile: 'ci/socket-mode-values.yaml' }), 'Ingress')).toEqual([]);
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

describe('the rendered chart (helm template)', () => {
  const PRODUCTION = 'ci/production-values.yaml';

  it.each([
    ['the default values', undefined],
    [PRODUCTION, PRODUCTION],
  ])('renders with %s into well-formed objects, each once', (_what, valuesFile) => {
    const rendered = renderChart({ valuesFile });
    const ids = rendered.manifests.map((m) => `${m.kind}/${m.metadata.namespace ?? ''}/${m.metadata.name}`);
    expect(new Set(ids).size).toBe(ids.length);
    for (const m of rendered.manifests) {
      expect(m).toMatchObject({ apiVersion: expect.any(String), kind: expect.any(String) });
      expect(m.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    }
    const kinds = [...new Set(rendered.manifests.map((m) => m.kind))].sort();
    expect(kinds).toEqual(
      [
        'ConfigMap',
        'Deployment',
        'HorizontalPodAutoscaler',
        'Ingress',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'PodMonitor',
        'PrometheusRule',
        'Role',
        'RoleBinding',
        'Service',
        'ServiceAccount',
        'ServiceMonitor',
        ...(valuesFile ? ['SealedSecret'] : []),
      ].sort(),
    );
    expect(renderNotes({ valuesFile })).toContain('kubectl auth can-i --list -n azora-staging');
  });

  it('tells in its notes where Slack and Alertmanager reach the bot, over HTTP and in Socket Mode', () => {
    const http = renderNotes();
    expect(http).toContain(
      'Slack app: slash command /azora, interactivity and event subscriptions → https://chatops.azora.world/slack/events',
    );
    expect(http).toContain('Alertmanager webhook → https://chatops.azora.world/alertmanager');
    const socket = renderNotes({ valuesFile: 'ci/socket-mode-values.yaml' });
    expect(socket).toContain('Slack app: Socket Mode (files/slack-app-manifest.socket-mode.yaml)');
    expect(socket).not.toContain('/slack/events');
    expect(socket).toContain('Alertmanager webhook → http://azora-chatops.azora-chatops.svc:80/alertmanager');
  });

  it('seals what the production example gives it, ALERTMANAGER_URL and the Prometheus token included, for the Secret the pods read', () => {
    const rendered = renderChart({ valuesFile: PRODUCTION });
    const [sealed] = manifestsOf(rendered, 'SealedSecret') as Array<
      Manifest & { spec: { encryptedData: Record<string, string>; template: { metadata: { name: string } } } }
    >;
    expect(sealed!.metadata.name).toBe('azora-chatops');
    expect(sealed!.spec.template.metadata.name).toBe('azora-chatops');
    expect(Object.keys(sealed!.spec.encryptedData)).toEqual(
      expect.arrayContaining(['ALERTMANAGER_URL', 'PROMETHEUS_BEARER_TOKEN']),
    );
    const worker = envOf(pods({ valuesFile: PRODUCTION }).worker);
    expect(worker).toMatchObject({
      ALERTMANAGER_URL: 'secret:ALERTMANAGER_URL?',
      PROMETHEUS_URL: 'http://prometheus-operated.monitoring.svc:9090',
      PROMETHEUS_BEARER_TOKEN: 'secret:PROMETHEUS_BEARER_TOKEN?',
    });
  });

  it('refuses values the schema refuses, as helm does', () => {
    expect(() =>
      renderChart({ values: { config: { alertmanagerUrl: 'http://user:pw@alertmanager:9093' } } }),
    ).toThrow(
      /values don't meet the specifications of the schema\(s\)[^]*azora-chatops:\n- at '\/config': additional properties 'alertmanagerUrl' not allowed/,
    );
  });
});
