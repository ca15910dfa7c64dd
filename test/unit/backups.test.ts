import { parsePolicy } from '../../src/config/policy';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  databaseJob,
  databaseJobName,
  environmentOfBackup,
  isBackupId,
  takenAt,
  parseScriptReport,
} from '../../src/backups/domain/job';
import { formatBytes } from '../../src/backups/views';
import { lockedBackup } from '../../src/backups/run';
import { fakeWorld } from '../kit/fakes/deps';
import { testPolicy } from '../kit/policy';
import { MAX_STEP_HOLD_MS, stepHoldMs } from '../../src/requests/database';

const POLICY = parsePolicy(
  readFileSync(path.join(__dirname, '../../src/config/default-policy.yaml'), 'utf8'),
  'default-policy.yaml',
);
const AT = Date.UTC(2026, 11, 2, 2, 0);

describe('backup and restore Jobs', () => {
  it('are named by kind, environment and time, and the name is the backup id', () => {
    const id = databaseJobName('backup', 'production', AT, 'a1b2c3');
    expect(id).toBe('azora-backup-production-20261202-0200-a1b2');
    expect(isBackupId(id)).toBe(true);
    expect(takenAt(id)).toBe(Date.UTC(2026, 11, 2, 2, 0));
    expect(takenAt('azora-restore-production-20261202-0200-a1b2')).toBeUndefined();
    expect(environmentOfBackup(id)).toBe('production');
    expect(id.length).toBeLessThanOrEqual(63);
    for (const bad of [
      'azora-backup-qa-20261202-0200-a1b2',
      'x; rm -rf /',
      'azora-restore-production-20261202-0200-a1b2',
    ])
      expect(isBackupId(bad)).toBe(false);
  });

  it('run the shipped script with the template: no retries, a deadline, the password by reference only', () => {
    const job = databaseJob({
      kind: 'restore',
      name: 'azora-restore-production-20261202-0210-ffff',
      environment: 'production',
      namespace: 'azora-production',
      template: POLICY.backups.production!,
      backupId: 'azora-backup-production-20261202-0200-a1b2',
      request: 'r0000abcd',
    });
    expect(job.metadata.labels).toEqual({
      'app.kubernetes.io/managed-by': 'azora-chatops',
      'chatops.azora.world/job': 'restore',
      'chatops.azora.world/environment': 'production',
      'chatops.azora.world/backup': 'azora-backup-production-20261202-0200-a1b2',
      'chatops.azora.world/request': 'r0000abcd',
    });
    const spec = job.spec as {
      backoffLimit: number;
      activeDeadlineSeconds: number;
      template: {
        spec: {
          securityContext: unknown;
          containers: Array<{
            image: string;
            command: string[];
            env: unknown[];
            securityContext: unknown;
            resources: unknown;
          }>;
          volumes: unknown[];
        };
      };
    };
    expect(spec.backoffLimit).toBe(0);
    expect(spec.activeDeadlineSeconds).toBe(1800);
    const [container] = spec.template.spec.containers;
    expect(container!.image).toBe('postgres:15');
    expect(container!.command).toEqual(['/bin/sh', '/scripts/restore.sh']);
    // The guide's requests and limits: a namespace with a ResourceQuota refuses a pod without them.
    expect(container!.resources).toEqual({
      requests: { cpu: '250m', memory: '256Mi' },
      limits: { cpu: '500m', memory: '512Mi' },
    });
    // The image's own user unless the policy names one: volumes kept from root-run backups stay writable.
    expect(spec.template.spec.securityContext).toBeUndefined();
    expect(container!.securityContext).toBeUndefined();
    expect(container!.env).toContainEqual({ name: 'PGUSER', value: 'azora' });
    expect(container!.env).toContainEqual({
      name: 'PGPASSWORD',
      valueFrom: { secretKeyRef: { name: 'azora-postgres', key: 'password' } },
    });
    expect(container!.env).toContainEqual({ name: 'VERIFY_QUERY', value: 'SELECT COUNT(*) FROM users;' });
    expect(spec.template.spec.volumes).toEqual([
      { name: 'scripts', configMap: { name: 'azora-chatops-backup-scripts', defaultMode: 0o555 } },
      { name: 'backups', persistentVolumeClaim: { claimName: 'azora-backups' } },
    ]);
  });

  it('run as the policy’s user, locked down, where it names one', () => {
    const job = databaseJob({
      kind: 'backup',
      name: 'azora-backup-production-20261202-0200-a1b2',
      environment: 'production',
      namespace: 'azora-production',
      template: { ...POLICY.backups.production!, runAsUser: 999 },
      backupId: 'azora-backup-production-20261202-0200-a1b2',
      request: 'r0000abcd',
    });
    const spec = job.spec as {
      template: { spec: { securityContext: unknown; containers: Array<{ securityContext: unknown }> } };
    };
    const [container] = spec.template.spec.containers;
    // What a namespace enforcing the `restricted` Pod Security standard asks of its pods.
    expect(spec.template.spec.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 999,
      runAsGroup: 999,
      fsGroup: 999,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container!.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
  });
});

describe("the scripts' reports", () => {
  it('read the closing lines, timestamps or not', () => {
    const log = [
      '2026-12-02T02:00:01.000Z azora-backup: dumping azora on postgres:5432',
      '2026-12-02T02:00:09.000Z azora-backup: ok file=/backups/x.sql bytes=123456',
    ].join('\n');
    expect(parseScriptReport('backup', log)).toEqual({ ok: true, file: '/backups/x.sql', bytes: 123456 });
    expect(parseScriptReport('restore', 'azora-restore: ok file=/backups/x.sql\nazora-verify: 1042')).toEqual(
      {
        ok: true,
        file: '/backups/x.sql',
        verify: '1042',
      },
    );
    expect(parseScriptReport('restore', 'azora-restore: failed no dump /backups/y.sql')).toEqual({
      ok: false,
      reason: 'no dump /backups/y.sql',
    });
  });

  it('trust nothing else in the log', () => {
    expect(parseScriptReport('backup', 'pg_dump: error: connection refused')).toBeUndefined();
    // Another kind's line, or an ok line with junk, is not this Job's report.
    expect(parseScriptReport('backup', 'azora-restore: ok file=/backups/x.sql')).toBeUndefined();
    expect(parseScriptReport('backup', `azora-backup: ok bytes=${'9'.repeat(40)}`)).toBeUndefined();
  });

  it('say sizes as people read them', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.0 GiB');
    expect(formatBytes(undefined)).toBe('size unknown');
  });
});

describe('backup retention', () => {
  const DAY = 86_400_000;
  const NOW = Date.UTC(2026, 11, 5, 2, 0);
  const retention = () => {
    const policy = structuredClone(testPolicy());
    policy.backups.staging = { ...policy.backups.staging!, keep: 2 };
    return fakeWorld(policy, { now: NOW });
  };
  const takeAt = async (w: ReturnType<typeof retention>, at: number) => {
    w.clock.set(at);
    const { id, run } = await lockedBackup(w.deps, 'staging', 'U0ENGINEER', { seed: `s${at}`, at });
    expect(run.ok).toBe(true);
    return id;
  };
  const kept = async (w: ReturnType<typeof retention>) =>
    (await w.cluster.listJobs('staging', 'backup')).map((j) => j.backupId).sort();

  it('keeps every backup younger than `keep` days, however many a busy day takes', async () => {
    const w = retention();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await takeAt(w, NOW + i * 3_600_000));
    expect(await kept(w)).toEqual([...ids].sort());
  });

  it('lets one older than `keep` days go once it is not among the newest `keep`', async () => {
    const w = retention();
    const old = [
      await takeAt(w, NOW - 30 * DAY),
      await takeAt(w, NOW - 20 * DAY),
      await takeAt(w, NOW - 10 * DAY),
    ];
    // The newest 2 stay whatever their age: a quiet environment keeps something to restore.
    expect(await kept(w)).toEqual([old[1], old[2]].sort());
    const fresh = await takeAt(w, NOW);
    expect(await kept(w)).toEqual([old[2], fresh].sort());
  });

  it('lets a restore’s Job go once it ended `keep` days ago', async () => {
    const w = retention();
    const restoreAt = async (at: number) => {
      w.clock.set(at);
      const name = databaseJobName('restore', 'staging', at, `r${at}`.padEnd(4, '0'));
      const template = w.deps.policy.backups.staging!;
      await w.cluster.createJob(
        'staging',
        databaseJob({
          kind: 'restore',
          name,
          environment: 'staging',
          namespace: 'azora-staging',
          template,
          backupId: 'b',
          request: 'r0000aaaa',
        }),
      );
      await w.cluster.waitForJob('staging', name, 60_000);
      return name;
    };
    const older = await restoreAt(NOW - 3 * DAY);
    const recent = await restoreAt(NOW - DAY);
    await takeAt(w, NOW);
    expect((await w.cluster.listJobs('staging', 'restore')).map((j) => j.name)).toEqual([recent]);
    expect(older).not.toBe(recent);
  });
});

describe('the change locks of a database step', () => {
  it('are kept for as long as its Job may run, past the hour any other step gets', () => {
    const policy = structuredClone(POLICY);
    policy.backups.production!.deadline = 2 * 3_600_000;
    const restore = { kind: 'restore', service: 'production', backupId: 'x', windowMs: 1 } as const;
    expect(stepHoldMs(policy, 'production', restore)).toBeGreaterThan(2 * 3_600_000 + 60_000);
    expect(stepHoldMs(policy, 'production', { kind: 'backup', service: 'production' })).toBe(
      stepHoldMs(policy, 'production', restore),
    );
    // The default deadline (30 minutes) fits in the hour.
    expect(stepHoldMs(POLICY, 'production', restore)).toBe(MAX_STEP_HOLD_MS);
    expect(
      stepHoldMs(policy, 'production', { kind: 'scale', service: 'payment', target: 'd', from: 1, to: 2 }),
    ).toBe(MAX_STEP_HOLD_MS);
  });
});
