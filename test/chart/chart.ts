import Ajv, { type ValidateFunction } from 'ajv';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { GoMethods, parseGoYaml, parseGoYamlDocuments, TemplateSet } from './gotemplate';

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

/** A rule of files/rbac-rules.yaml: rbac/v1, or the chart's `resourceNamesFrom` for templates/rbac.yaml to fill in. */
export interface FileRule extends RoleRule {
  resourceNamesFrom?: string;
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

/** One object of the rendered chart. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface RenderOptions {
  /** Overrides, merged onto values.yaml as Helm merges a -f file. */
  values?: Values;
  /** Chart files to read instead of the ones on disk, by path in the chart (files/rbac-rules.yaml). */
  files?: Record<string, string>;
  release?: { name?: string; namespace?: string };
}

export interface RenderedChart {
  /** The output of each template, by its file name (rbac.yaml). */
  outputs: Record<string, string>;
  /** Every document of every template but NOTES.txt, read as Kubernetes reads YAML. */
  manifests: Manifest[];
}

let schemaValidator: ValidateFunction | undefined;

/** The coalesced values, checked against values.schema.json as `helm install` and `helm template` check them. */
export function chartValues(overrides: Values = {}): Values {
  const values = mergeValues(parseGoYaml(readChartFile('values.yaml')) as Values, overrides);
  schemaValidator ??= new Ajv({ allErrors: true, strict: true }).compile(
    JSON.parse(readChartFile('values.schema.json')) as object,
  );
  if (!schemaValidator(values)) {
    const errors = (schemaValidator.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
    throw new Error(`values don't meet the specifications of the schema: ${errors.join('; ')}`);
  }
  return values;
}

/**
 * `helm template` without helm: every template of the chart through the Go-template
 * interpreter in ./gotemplate.ts, with Helm's built-in objects. When helm is installed, the
 * same answers must come from `helm template`; until then this is the chart's renderer.
 */
export function renderChart(options: RenderOptions = {}): RenderedChart {
  const chart = readChartYaml<Record<string, unknown>>('Chart.yaml');
  const goName = (key: string) =>
    key === 'apiVersion' ? 'APIVersion' : key.charAt(0).toUpperCase() + key.slice(1);
  const getFile = (name: unknown): string => {
    const file = String(name);
    if (options.files && file in options.files) return options.files[file]!;
    const full = chartPath(file);
    return !file.startsWith('templates/') && existsSync(full) ? readFileSync(full, 'utf8') : '';
  };
  const root = {
    Values: chartValues(options.values),
    Chart: Object.fromEntries(Object.entries(chart).map(([k, v]) => [goName(k), v])),
    Release: {
      Name: options.release?.name ?? 'azora-chatops',
      Namespace: options.release?.namespace ?? 'azora-chatops',
      Service: 'Helm',
      IsInstall: true,
      IsUpgrade: false,
      Revision: 1n,
    },
    Files: new GoMethods({ Get: getFile }),
  };
  const names = readdirSync(chartPath('templates')).sort();
  const set = new TemplateSet(
    Object.fromEntries(names.map((name) => [name, readChartFile('templates', name)])),
  );
  const outputs: Record<string, string> = {};
  for (const name of names) if (!name.startsWith('_')) outputs[name] = set.render(name, root);
  const manifests = Object.entries(outputs)
    .filter(([name]) => name !== 'NOTES.txt')
    .flatMap(([, text]) => parseGoYamlDocuments(text) as Manifest[]);
  return { outputs, manifests };
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
