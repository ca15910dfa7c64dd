import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/** Paths into the Helm chart and the plain files its templates read, shared by the chart tests. */

export const REPO = path.resolve(__dirname, '../..');
export const CHART = path.join(REPO, 'charts/azora-chatops');
export const chartPath = (...parts: string[]) => path.join(CHART, ...parts);

export const readChartFile = (...parts: string[]) => readFileSync(chartPath(...parts), 'utf8');
export const readChartYaml = <T = unknown>(...parts: string[]): T => parse(readChartFile(...parts)) as T;

/** A Role rule as files/rbac-rules.yaml (and rbac/v1) writes it. */
export interface RoleRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export const rbacRules = (): RoleRule[] =>
  readChartYaml<{ rules: RoleRule[] }>('files', 'rbac-rules.yaml').rules;

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
