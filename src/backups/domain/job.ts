import type { BackupPolicy } from '../../config/policy';
import type { EnvironmentName } from '../../kernel/domain/environment';
import {
  BACKUP_DIR,
  LABELS,
  MANAGED_BY,
  SCRIPTS_DIR,
  type DatabaseJobKind,
  type JobManifest,
} from '../../kernel/domain/database-job';

export { LABELS, type DatabaseJobKind, type JobManifest };

const BACKUP_ID = /^azora-backup-(staging|production)-\d{8}-\d{4}-[0-9a-f]{4}$/;

/** Whether `id` is a backup id as the bot names them; anything else is not looked up. */
export const isBackupId = (id: string): boolean => BACKUP_ID.test(id);

/** The environment a backup id names (its Job is labelled so too). */
export function environmentOfBackup(id: string): EnvironmentName | undefined {
  const match = BACKUP_ID.exec(id);
  return match ? (match[1] as EnvironmentName) : undefined;
}

/** When a backup was asked for, as its id says (UTC, to the minute): what its retention counts from, in backup.sh too. */
export function takenAt(id: string): number | undefined {
  const match = /^azora-backup-(?:staging|production)-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})-[0-9a-f]{4}$/.exec(
    id,
  );
  if (!match) return undefined;
  const [, y, mo, d, h, mi] = match.map(Number) as [number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi);
}

/** `azora-<kind>-<env>-<yyyymmdd>-<hhmm>-<4 hex>`: sortable by time, unique, a valid Job name. */
export function databaseJobName(
  kind: DatabaseJobKind,
  env: EnvironmentName,
  at: number,
  salt: string,
): string {
  const iso = new Date(at).toISOString();
  const day = iso.slice(0, 10).replace(/-/g, '');
  const time = iso.slice(11, 16).replace(':', '');
  return `azora-${kind}-${env}-${day}-${time}-${salt.slice(0, 4)}`;
}

/**
 * The Job that runs the shipped backup.sh or restore.sh with the environment's template:
 * no retries (a half-done restore is not run twice), the policy's deadline, the password
 * from the Secret by reference (the bot never reads it), the dumps on the claim.
 */
export function databaseJob(options: {
  kind: DatabaseJobKind;
  name: string;
  environment: EnvironmentName;
  namespace: string;
  template: BackupPolicy;
  /** The backup made (backup) or restored (restore). */
  backupId: string;
  request: string;
}): JobManifest {
  const { kind, name, environment, namespace, template, backupId, request } = options;
  const labels = {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.kind]: kind,
    [LABELS.environment]: environment,
    [LABELS.backup]: backupId,
    [LABELS.request]: request,
  };
  const { host, port, name: database, user } = template.database;
  const env = [
    { name: 'PGHOST', value: host },
    { name: 'PGPORT', value: String(port) },
    { name: 'PGDATABASE', value: database },
    { name: 'PGUSER', value: user },
    ...(template.passwordSecret
      ? [
          {
            name: 'PGPASSWORD',
            valueFrom: {
              secretKeyRef: { name: template.passwordSecret.name, key: template.passwordSecret.key },
            },
          },
        ]
      : []),
    { name: 'BACKUP_DIR', value: BACKUP_DIR },
    { name: 'BACKUP_ID', value: backupId },
    { name: 'BACKUP_KEEP', value: String(template.keep) },
    ...(kind === 'restore' ? [{ name: 'VERIFY_QUERY', value: template.verify }] : []),
  ];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: Math.max(60, Math.round(template.deadline / 1000)),
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          // What the `restricted` Pod Security standard asks; the dumps' volume is the
          // user's group's, so the scripts can write it.
          ...(template.runAsUser
            ? {
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: template.runAsUser,
                  runAsGroup: template.runAsUser,
                  fsGroup: template.runAsUser,
                  seccompProfile: { type: 'RuntimeDefault' },
                },
              }
            : {}),
          containers: [
            {
              name: kind,
              image: template.image,
              command: ['/bin/sh', `${SCRIPTS_DIR}/${kind}.sh`],
              resources: resourcesOf(template.resources),
              ...(template.runAsUser
                ? { securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }
                : {}),
              env,
              volumeMounts: [
                { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true },
                { name: 'backups', mountPath: BACKUP_DIR },
              ],
            },
          ],
          volumes: [
            { name: 'scripts', configMap: { name: template.scripts, defaultMode: 0o555 } },
            { name: 'backups', persistentVolumeClaim: { claimName: template.claim } },
          ],
        },
      },
    },
  };
}

/** The template's requests and limits, without the ones it leaves unset. */
function resourcesOf(resources: BackupPolicy['resources']): Record<string, Record<string, string>> {
  const set = (given: { cpu?: string | undefined; memory?: string | undefined }) =>
    Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) as Record<
      string,
      string
    >;
  const [requests, limits] = [set(resources.requests), set(resources.limits)];
  return {
    ...(Object.keys(requests).length ? { requests } : {}),
    ...(Object.keys(limits).length ? { limits } : {}),
  };
}

/** What the scripts print last, and the bot reads from the Job's log. */
export type ScriptReport =
  { ok: true; file?: string; bytes?: number; verify?: string } | { ok: false; reason: string };

/**
 * The scripts' closing lines: `azora-backup: ok file=<path> bytes=<n>`, `azora-restore: ok
 * file=<path>`, `azora-verify: <first figure of the query>`, or `azora-<kind>: failed
 * <reason>`. The log is outside text: only these shapes are read, and bounded.
 */
export function parseScriptReport(kind: DatabaseJobKind, log: string): ScriptReport | undefined {
  let report: ScriptReport | undefined;
  let verify: string | undefined;
  for (const raw of log.split('\n').slice(-200)) {
    const line = raw.replace(/^\S+Z\s/, '').trim();
    const failed = new RegExp(`^azora-${kind}: failed (.{1,300})`).exec(line);
    if (failed) report = { ok: false, reason: failed[1]! };
    const ok = new RegExp(`^azora-${kind}: ok(?: file=(\\S{1,300}))?(?: bytes=(\\d{1,15}))?$`).exec(line);
    if (ok) {
      report = {
        ok: true,
        ...(ok[1] ? { file: ok[1] } : {}),
        ...(ok[2] ? { bytes: Number(ok[2]) } : {}),
      };
    }
    const figure = /^azora-verify: (.{1,100})$/.exec(line);
    if (figure) verify = figure[1]!.trim();
  }
  if (report?.ok && verify !== undefined) return { ...report, verify };
  return report;
}
