import { spawnSync } from 'node:child_process';
import { parsePolicy } from '../../src/config/policy';
import { databaseJob } from '../../src/backups/domain/job';
import {
  defaultValues,
  manifestsOf,
  policyWithBackups,
  readChartFile,
  renderChart,
  type Manifest,
  type RenderOptions,
} from './chart';

/**
 * The ConfigMap of the backup and restore scripts (templates/configmap-backup-scripts.yaml)
 * as helm 4 renders it: the files as they are, in each environment namespace, under the name
 * the policy's Jobs mount. test/integration/backup-scripts.test.ts runs the same files
 * against a real PostgreSQL.
 */

type ConfigMap = Manifest & { data: Record<string, string> };

const SCRIPTS = ['backup.sh', 'restore.sh'] as const;
const script = (name: string) => readChartFile('files', 'scripts', name);
const namespaces = () => (defaultValues().rbac as { namespaces: string[] }).namespaces;

const scriptMaps = (options: RenderOptions = {}) =>
  manifestsOf(renderChart(options), 'ConfigMap').filter(
    (m) => m.metadata.labels?.['app.kubernetes.io/component'] === 'backup-scripts',
  ) as ConfigMap[];

describe('the backup scripts ConfigMap (helm template)', () => {
  it('carries backup.sh and restore.sh byte for byte, in each environment namespace', () => {
    const maps = scriptMaps();
    expect(maps.map((m) => m.metadata.namespace).sort()).toEqual([...namespaces()].sort());
    for (const map of maps) {
      expect(map.metadata.name).toBe('azora-chatops-backup-scripts');
      expect(map.metadata.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'Helm',
        'app.kubernetes.io/instance': 'azora-chatops',
      });
      expect(Object.keys(map.data).sort()).toEqual([...SCRIPTS]);
      for (const name of SCRIPTS) expect(map.data[name]).toBe(script(name));
    }
  });

  it("is what the policy's Jobs mount and run: its default name, and a key for each kind's command", () => {
    const policy = parsePolicy(policyWithBackups(['staging', 'production']), 'a policy with backups');
    for (const env of ['staging', 'production'] as const) {
      const template = policy.backups[env]!;
      const namespace = policy.environments[env]!.namespace;
      const [map] = scriptMaps().filter((m) => m.metadata.namespace === namespace);
      for (const kind of ['backup', 'restore'] as const) {
        const job = databaseJob({
          kind,
          name: `azora-${kind}-${env}-20261202-0200-abcd`,
          environment: env,
          namespace,
          template,
          backupId: `azora-backup-${env}-20261202-0200-abcd`,
          request: 'r1',
        });
        const pod = (
          job.spec as {
            template: {
              spec: {
                containers: Array<{
                  command: string[];
                  volumeMounts: Array<{ name: string; mountPath: string }>;
                }>;
                volumes: Array<{ name: string; configMap?: { name: string } }>;
              };
            };
          }
        ).template.spec;
        const volume = pod.volumes.find((v) => v.configMap)!;
        expect(volume.configMap!.name).toBe(map!.metadata.name);
        const mount = pod.containers[0]!.volumeMounts.find((m) => m.name === volume.name)!;
        const [shell, path] = pod.containers[0]!.command;
        expect(shell).toBe('/bin/sh');
        expect(path!.startsWith(`${mount.mountPath}/`)).toBe(true);
        expect(Object.keys(map!.data)).toContain(path!.slice(mount.mountPath.length + 1));
      }
    }
  });

  it('takes its name from the values, which must agree with the policy', () => {
    const renamedPolicy = policyWithBackups(['staging', 'production'], {
      staging: { scripts: 'db-scripts' },
      production: { scripts: 'db-scripts' },
    });
    const renamed = scriptMaps({
      values: { policy: renamedPolicy, backups: { scriptsConfigMap: { name: 'db-scripts' } } },
    });
    expect(renamed.map((m) => m.metadata.name)).toEqual(namespaces().map(() => 'db-scripts'));
    expect(scriptMaps({ values: { backups: { scriptsConfigMap: { create: false } } } })).toEqual([]);

    // The policy's Jobs in production would mount db-scripts; the chart makes the default.
    const policy = policyWithBackups(['staging', 'production'], { production: { scripts: 'db-scripts' } });
    expect(() => scriptMaps({ values: { policy } })).toThrow(
      /execution error at \(azora-chatops\/templates\/configmap-backup-scripts\.yaml:\d+:\d+\): the policy's backups\.production\.scripts is "db-scripts", but the chart's ConfigMap of backup scripts in azora-production is "azora-chatops-backup-scripts" \(backups\.scriptsConfigMap\.name\)/,
    );
    // The same the other way round: the shipped policy's Jobs mount the default name.
    expect(() => scriptMaps({ values: { backups: { scriptsConfigMap: { name: 'db-scripts' } } } })).toThrow(
      /the policy's backups\.(staging|production)\.scripts is "azora-chatops-backup-scripts", but the chart's ConfigMap of backup scripts in azora-(staging|production) is "db-scripts"/,
    );
    // Turned off, the ConfigMap is the operator's business, whatever its name.
    expect(scriptMaps({ values: { policy, backups: { scriptsConfigMap: { create: false } } } })).toEqual([]);
    // A policy without backups: the ConfigMap is still there for the namespaces' Jobs to come.
    expect(scriptMaps({ values: { policy: policyWithBackups([]) } })).toHaveLength(namespaces().length);
  });

  it('refuses a name Kubernetes would refuse, as the schema does', () => {
    expect(() =>
      scriptMaps({ values: { backups: { scriptsConfigMap: { name: 'Backup_Scripts' } } } }),
    ).toThrow(/values don't meet the specifications of the schema/);
  });
});

describe('the scripts as files', () => {
  it.each(SCRIPTS)('%s is POSIX sh that /bin/sh parses, strict, and never prints the password', (name) => {
    const text = script(name);
    expect(text.startsWith('#!/bin/sh\n')).toBe(true);
    const parsed = spawnSync('/bin/sh', ['-n', '-c', text], { encoding: 'utf8' });
    expect({ status: parsed.status, stderr: parsed.stderr }).toEqual({ status: 0, stderr: '' });
    expect(text).toMatch(/^set -euf?\b/m);
    const code = text
      .split('\n')
      .filter((line) => !/^\s*#/.test(line))
      .join('\n');
    // Bash, not sh (the postgres image's /bin/sh is dash).
    for (const bashism of [/\[\[/, /\bfunction\s/, /^\s*local\s/m, /\$'/, /pipefail/, /<<</, /\$\{[^}]*\/\//])
      expect({ name, bashism: bashism.source, found: bashism.test(code) }).toMatchObject({ found: false });
    // The password reaches libpq through the environment only: never named, never traced.
    expect(code).not.toMatch(/PGPASSWORD|set -x|\benv\b|printenv/);
    // The guide's user unless the Job says otherwise.
    expect(code).toContain('PGUSER=${PGUSER:-azora}');
  });
});
