import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { defaultPolicyPath, loadPolicy } from '../../src/config/policy';
import { createMetrics } from '../../src/kernel/metrics';
import { readChartFile, readChartYaml, runTool } from './chart';

/**
 * The alert rules, the Alertmanager example and the dashboard, checked by the tools that
 * will run them (promtool, amtool) and against what the bot knows (the policy's runbooks,
 * the labels it reads, its real metric names).
 */

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const alertRules = (): Rule[] =>
  readChartYaml<{ groups: { rules: Rule[] }[] }>('files', 'prometheus-rules.yaml').groups.flatMap(
    (g) => g.rules,
  );

/** The guide's alerts: critical pages, warning goes to Slack. */
const SEVERITY: Record<string, 'critical' | 'warning'> = {
  AzoraServiceDown: 'critical',
  AzoraHighErrorRate: 'critical',
  AzoraDatabaseConnectionFailures: 'critical',
  AzoraDiskUsageHigh: 'critical',
  AzoraHighCPU: 'warning',
  AzoraHighMemory: 'warning',
  AzoraHighLatencyP95: 'warning',
  AzoraLowCacheHitRate: 'warning',
};

describe('Prometheus rules (files/prometheus-rules.yaml)', () => {
  it('pass promtool check rules', () => {
    const { status, output } = runTool('promtool', 'prometheus', [
      'check',
      'rules',
      'files/prometheus-rules.yaml',
    ]);
    expect(output).toMatch(/SUCCESS: 8 rules found/);
    expect(status).toBe(0);
  });

  it('pass their promtool unit tests (each alert fires with the labels the bot reads; quiet cases stay quiet)', () => {
    const { status, output } = runTool('promtool', 'prometheus', [
      'test',
      'rules',
      'files/prometheus-rules.test.yaml',
    ]);
    expect(output).toMatch(/SUCCESS/);
    expect(status).toBe(0);
  });

  it('are exactly the alerts the policy has runbooks for, with the guide severities', () => {
    const policy = loadPolicy(defaultPolicyPath());
    const rules = alertRules();
    expect(rules.map((r) => r.alert).sort()).toEqual(Object.keys(policy.alerts.runbooks).sort());
    for (const rule of rules) {
      expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({
        alert: rule.alert,
        severity: SEVERITY[rule.alert!],
      });
    }
    // Critical pages through the bot: the policy must page on it.
    expect(policy.alerts.page).toContain('critical');
  });

  it('carry summary and runbook_url, and keep the namespace and service labels the bot reads', () => {
    for (const rule of alertRules()) {
      expect(Object.keys(rule.annotations ?? {}).sort()).toEqual(['runbook_url', 'summary']);
      expect(rule.annotations!.runbook_url).toBe(`https://runbooks.azora.world/alerts/${rule.alert}`);
      // Every aggregation keeps namespace and service: a `by` clause without them would drop the labels.
      const byClauses = [...rule.expr.matchAll(/\bby \(([^)]*)\)/g)].map((m) => m[1]!.split(/,\s*/));
      expect(byClauses.length).toBeGreaterThan(0);
      for (const labels of byClauses) {
        expect(labels).toEqual(expect.arrayContaining(['namespace']));
        const rewritesService = /"service", "\$1"/.test(rule.expr);
        if (!rewritesService) expect(labels).toEqual(expect.arrayContaining(['service']));
      }
    }
  });

  it('are the spec of the chart PrometheusRule, verbatim', () => {
    const template = readChartFile('templates', 'prometheusrule.yaml');
    expect(template).toMatch(/kind: PrometheusRule/);
    expect(template).toMatch(/\.Files\.Get "files\/prometheus-rules\.yaml" \| nindent 2/);
  });
});

describe('Alertmanager example (files/alertmanager.yaml)', () => {
  it('passes amtool check-config', () => {
    const { status, output } = runTool('amtool', 'prometheus-alertmanager', [
      'check-config',
      'files/alertmanager.yaml',
    ]);
    expect(output).toMatch(/SUCCESS/);
    expect(status).toBe(0);
  });

  it.each(Object.entries(SEVERITY))('routes %s (%s) to the bot', (alertname, severity) => {
    const { status, output } = runTool('amtool', 'prometheus-alertmanager', [
      'config',
      'routes',
      'test',
      '--config.file=files/alertmanager.yaml',
      '--verify.receivers=azora-chatops',
      `alertname=${alertname}`,
      `severity=${severity}`,
      'namespace=azora-production',
      'service=payment',
    ]);
    expect(output).toMatch(/^azora-chatops$/m);
    expect(status).toBe(0);
  });

  it('sends resolved notifications with a bearer token from a file', () => {
    const config = readChartYaml<{
      receivers: { name: string; webhook_configs?: Record<string, unknown>[] }[];
    }>('files', 'alertmanager.yaml');
    const webhook = config.receivers.find((r) => r.name === 'azora-chatops')!.webhook_configs![0]!;
    expect(webhook).toMatchObject({
      url: expect.stringMatching(/\/alertmanager$/),
      send_resolved: true,
      http_config: { authorization: { type: 'Bearer', credentials_file: expect.any(String) } },
    });
  });
});

describe('Grafana dashboard (files/grafana-dashboard.json)', () => {
  interface Panel {
    type: string;
    title: string;
    targets?: { expr: string }[];
  }
  const dashboard = () =>
    JSON.parse(readChartFile('files', 'grafana-dashboard.json')) as { uid: string; panels: Panel[] };
  const exprs = () => dashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

  it('queries only metrics the bot exports', async () => {
    const exported = new Set(
      (await createMetrics().registry.getMetricsAsJSON()).flatMap((m) =>
        String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name],
      ),
    );
    const used = new Set(exprs().flatMap((e) => e.match(/\bazora_[a-z0-9_]+/g) ?? []));
    expect(used.size).toBeGreaterThanOrEqual(8);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
    // Every metric the bot defines itself has a panel.
    for (const own of [
      'azora_commands_total',
      'azora_slack_requests_total',
      'azora_jobs_total',
      'azora_slack_api_calls_total',
      'azora_alertmanager_alerts_total',
      'azora_job_duration_seconds_bucket',
    ]) {
      expect(used).toContain(own);
    }
  });

  it('has PromQL that Prometheus parses (Grafana variables filled in, checked by promtool)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'azora-dashboard-'));
    try {
      const rules = exprs().map((expr, i) => ({
        record: `azora:dashboard_panel_${i}`,
        expr: expr
          .replaceAll('$__rate_interval', '1m')
          .replaceAll('$__range', '6h')
          .replaceAll('$namespace', 'azora-chatops'),
      }));
      const file = path.join(dir, 'dashboard-rules.yaml');
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
      const { status, output } = runTool('promtool', 'prometheus', ['check', 'rules', file]);
      expect(output).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
      expect(status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is shipped in a ConfigMap labelled for the Grafana sidecar', () => {
    expect(dashboard().uid).toBe('azora-chatops');
    const template = readChartFile('templates', 'dashboard.yaml');
    expect(template).toMatch(/grafana_dashboard: '1'/);
    expect(template).toMatch(/\.Files\.Get "files\/grafana-dashboard\.json"/);
  });
});
