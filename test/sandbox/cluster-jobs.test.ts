import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BatchV1Api, CoreV1Api, type V1Job } from '@kubernetes/client-node';
import { databaseJob, databaseJobName, parseScriptReport } from '../../src/backups/domain/job';
import type { BackupPolicy } from '../../src/config/policy';
import { callOptions } from '../../src/kernel/kubernetes/clients';
import type { DatabaseJobKind, JobManifest } from '../../src/kernel/domain/database-job';
import type { KubeObject, SimulatedCluster } from '../../sandbox/cluster';
import { kubectlVersion, SYSTEM_KUBECTL, tools } from '../setup/tools';
import { waitFor } from '../kit/wait';
import { apiFailure, httpKubeConfig, runKubectl, STAGING, startCluster, statusOf } from './helpers';

/**
 * batch/v1 Jobs on the simulated cluster, as the bot's backups and restores use them: the
 * API server's defaults and generated selector, the Job controller's pod and status, the
 * scripts' log, the deadline, the garbage collector, RBAC, and what kubectl prints.
 */

const CLAIM = 'azora-backups';
const TEMPLATE: BackupPolicy = {
  image: 'postgres:15',
  runAsUser: 999,
  resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
  database: { host: 'postgres', port: 5432, name: 'azora', user: 'azora' },
  passwordSecret: { name: 'azora-postgres', key: 'password' },
  claim: CLAIM,
  scripts: 'azora-chatops-backup-scripts',
  keep: 30,
  verify: 'SELECT COUNT(*) FROM users;',
  deadline: 30 * 60_000,
};
const T0 = Date.parse('2031-03-04T09:00:00.000Z');

let salt = 0;
/** A Job as the bot builds it; `backupId` for a restore names the backup it restores. */
function manifest(
  kind: DatabaseJobKind,
  options: { backupId?: string; template?: Partial<BackupPolicy>; at?: number } = {},
): JobManifest {
  salt += 1;
  const name = databaseJobName(kind, 'staging', options.at ?? T0, salt.toString(16).padStart(4, '0'));
  return databaseJob({
    kind,
    name,
    environment: 'staging',
    namespace: STAGING,
    template: { ...TEMPLATE, ...options.template },
    backupId: options.backupId ?? name,
    request: `req-${salt}`,
  });
}

interface JobStatus {
  startTime?: string;
  completionTime?: string;
  active?: number;
  succeeded?: number;
  failed?: number;
  ready?: number;
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
}

const conditionTypes = (job: KubeObject | undefined): string[] =>
  (statusOf<JobStatus>(job).conditions ?? []).filter((c) => c.status === 'True').map((c) => c.type);
const finished = (job: KubeObject | undefined): boolean =>
  conditionTypes(job).some((t) => t === 'Complete' || t === 'Failed');

async function untilFinished(cluster: SimulatedCluster, name: string): Promise<KubeObject> {
  const job = await waitFor(() => cluster.get('jobs', STAGING, name), finished, {
    what: `job ${name} to end`,
  });
  return job!;
}

const podsOf = (cluster: SimulatedCluster, job: string): KubeObject[] =>
  cluster.list('pods', STAGING).filter((p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === job);

describe('batch/v1 Jobs through client-node', () => {
  let cluster: SimulatedCluster;
  let batch: BatchV1Api;
  let core: CoreV1Api;

  beforeAll(async () => {
    cluster = await startCluster({
      jobRunMs: 0,
      identities: {
        'job-viewer': {
          name: 'job-viewer',
          rules: [{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch'] }],
        },
        'job-runner': {
          name: 'job-runner',
          rules: [
            { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create', 'get', 'list', 'delete'] },
            { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list'] },
          ],
        },
      },
    });
    const kc = httpKubeConfig(cluster);
    batch = kc.makeApiClient(BatchV1Api);
    core = kc.makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  const create = (body: JobManifest | V1Job) =>
    batch.createNamespacedJob({ namespace: STAGING, body: body as V1Job });

  it('defaults the Job, generates its selector and runs a backup in a pod it owns', async () => {
    const job = manifest('backup');
    const name = job.metadata.name;
    const created = await create(job);
    const uid = created.metadata!.uid!;
    // The job strategy: a selector on the uid, and the labels the pods carry.
    expect(created.spec!.selector).toEqual({ matchLabels: { 'batch.kubernetes.io/controller-uid': uid } });
    expect(created.spec!.template.metadata!.labels).toMatchObject({
      'batch.kubernetes.io/controller-uid': uid,
      'controller-uid': uid,
      'batch.kubernetes.io/job-name': name,
      'job-name': name,
      'app.kubernetes.io/managed-by': 'azora-chatops',
    });
    expect(created.spec).toMatchObject({
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      completionMode: 'NonIndexed',
      suspend: false,
    });

    const done = await untilFinished(cluster, name);
    expect(conditionTypes(done)).toEqual(['SuccessCriteriaMet', 'Complete']);
    const status = statusOf<JobStatus>(done);
    expect(status).toMatchObject({ succeeded: 1, ready: 0 });
    expect(status.active).toBeUndefined();
    expect(Date.parse(status.completionTime!)).toBeGreaterThanOrEqual(Date.parse(status.startTime!));

    const [pod, ...others] = podsOf(cluster, name);
    expect(others).toEqual([]);
    expect(pod!.metadata.name).toMatch(new RegExp(`^${name}-[a-z0-9]{5}$`));
    expect(pod!.metadata.ownerReferences).toEqual([
      { apiVersion: 'batch/v1', kind: 'Job', name, uid, controller: true, blockOwnerDeletion: true },
    ]);
    expect(statusOf<{ phase: string }>(pod).phase).toBe('Succeeded');

    const log = await core.readNamespacedPodLog({ name: pod!.metadata.name, namespace: STAGING });
    const [dump] = cluster.database.dumps(STAGING, CLAIM);
    expect(dump!.name).toBe(`${name}.sql`);
    expect(parseScriptReport('backup', log)).toEqual({
      ok: true,
      file: `/backups/${name}.sql`,
      bytes: dump!.bytes,
    });
    expect(dump!.tables.users).toBe(cluster.database.users(STAGING));
  });

  it('restores the state a dump recorded and reports the verify figure', async () => {
    const backup = manifest('backup');
    await create(backup);
    await untilFinished(cluster, backup.metadata.name);
    const before = cluster.database.users(STAGING);
    cluster.database.setUsers(STAGING, before - 321);

    const restore = manifest('restore', { backupId: backup.metadata.name });
    await create(restore);
    const done = await untilFinished(cluster, restore.metadata.name);
    expect(conditionTypes(done)).toContain('Complete');
    expect(cluster.database.users(STAGING)).toBe(before);
    const [pod] = podsOf(cluster, restore.metadata.name);
    const log = await core.readNamespacedPodLog({ name: pod!.metadata.name, namespace: STAGING });
    expect(parseScriptReport('restore', log)).toEqual({
      ok: true,
      file: `/backups/${backup.metadata.name}.sql`,
      verify: String(before),
    });
  });

  it('fails a restore without its dump: the pod exits 1, the Job has no retry left', async () => {
    const restore = manifest('restore', { backupId: 'azora-backup-staging-20310101-0000-dead' });
    await create(restore);
    const done = await untilFinished(cluster, restore.metadata.name);
    const failed = statusOf<JobStatus>(done).conditions!.find((c) => c.type === 'Failed');
    expect(failed).toMatchObject({
      reason: 'BackoffLimitExceeded',
      message: 'Job has reached the specified backoff limit',
    });
    expect(statusOf<JobStatus>(done)).toMatchObject({ failed: 1 });
    const [pod] = podsOf(cluster, restore.metadata.name);
    const state = statusOf<{
      phase: string;
      containerStatuses: Array<{ state: { terminated: { exitCode: number; reason: string } } }>;
    }>(pod);
    expect(state.phase).toBe('Failed');
    expect(state.containerStatuses[0]!.state.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    const log = await core.readNamespacedPodLog({ name: pod!.metadata.name, namespace: STAGING });
    // restore.sh's own words for a backup that is not on the volume.
    expect(parseScriptReport('restore', log)).toEqual({
      ok: false,
      reason:
        'no backup azora-backup-staging-20310101-0000-dead: /backups/azora-backup-staging-20310101-0000-dead.sql does not exist',
    });
  });

  it('keeps BACKUP_KEEP days of dumps, at least the newest BACKUP_KEEP, and fails the next backup when told to', async () => {
    const claim = 'keep-two';
    const names: string[] = [];
    // Taken weeks before the cluster's now: past 2 days, so only the newest 2 stay.
    for (let i = 0; i < 3; i++) {
      const job = manifest('backup', {
        template: { claim, keep: 2 },
        at: Date.now() - (30 - i) * 86_400_000,
      });
      names.push(job.metadata.name);
      await create(job);
      await untilFinished(cluster, job.metadata.name);
    }
    expect(
      cluster.database
        .dumps(STAGING, claim)
        .map((d) => d.name)
        .sort(),
    ).toEqual(
      names
        .slice(1)
        .map((n) => `${n}.sql`)
        .sort(),
    );

    cluster.database.failNext('backup', 'pg_dump: error: disk full');
    const failing = manifest('backup', { template: { claim } });
    await create(failing);
    const done = await untilFinished(cluster, failing.metadata.name);
    expect(conditionTypes(done)).toContain('Failed');
    const [pod] = podsOf(cluster, failing.metadata.name);
    const log = await core.readNamespacedPodLog({ name: pod!.metadata.name, namespace: STAGING });
    expect(parseScriptReport('backup', log)).toEqual({
      ok: false,
      reason: 'dumping azora on postgres:5432 as azora: pg_dump: error: disk full',
    });
    expect(cluster.database.dumps(STAGING, claim)).toHaveLength(2);
  });

  it('fails as the scripts do: an unknown host, no volume, an id made twice, a verify query that fails', async () => {
    const logOf = async (job: JobManifest) => {
      await create(job);
      const done = await untilFinished(cluster, job.metadata.name);
      expect(conditionTypes(done)).toContain('Failed');
      const [pod] = podsOf(cluster, job.metadata.name);
      return core.readNamespacedPodLog({ name: pod!.metadata.name, namespace: STAGING });
    };
    const reasonOf = async (kind: DatabaseJobKind, job: JobManifest) => {
      const report = parseScriptReport(kind, await logOf(job));
      return report?.ok === false ? report.reason : report;
    };

    const host = manifest('backup', { template: { database: { ...TEMPLATE.database, host: 'pg-nowhere' } } });
    expect(await reasonOf('backup', host)).toBe(
      'dumping azora on pg-nowhere:5432 as azora: pg_dump: error: could not translate host name "pg-nowhere" to address: Name or service not known',
    );

    const unmounted = manifest('backup');
    const spec = unmounted.spec as { template: { spec: { volumes: unknown[] } } };
    spec.template.spec.volumes = spec.template.spec.volumes.filter(
      (v) => (v as { name: string }).name !== 'backups',
    );
    const containers = (
      unmounted.spec as { template: { spec: { containers: Array<{ volumeMounts: unknown[] }> } } }
    ).template.spec.containers;
    containers[0]!.volumeMounts = containers[0]!.volumeMounts.filter(
      (m) => (m as { name: string }).name !== 'backups',
    );
    expect(await reasonOf('backup', unmounted)).toBe(
      '/backups is not a writable directory (the backups volume)',
    );

    const first = manifest('backup');
    await create(first);
    await untilFinished(cluster, first.metadata.name);
    const again = manifest('backup', { backupId: first.metadata.name });
    expect(await reasonOf('backup', again)).toBe(
      `/backups/${first.metadata.name}.sql exists already: a backup id is made once`,
    );

    const restore = manifest('restore', {
      backupId: first.metadata.name,
      template: { verify: 'SELECT COUNT(*) FROM pupils;' },
    });
    const log = await logOf(restore);
    expect(parseScriptReport('restore', log)).toEqual({
      ok: false,
      reason: `restored /backups/${first.metadata.name}.sql, but the verify query failed: ERROR: relation "pupils" does not exist`,
    });
    expect(log).not.toContain('azora-verify:');
  });

  it('runs any other command to success with an empty log', async () => {
    const job = manifest('backup');
    const container = (job.spec as { template: { spec: { containers: Array<{ command: string[] }> } } })
      .template.spec.containers[0]!;
    container.command = ['/bin/true'];
    await create(job);
    expect(conditionTypes(await untilFinished(cluster, job.metadata.name))).toContain('Complete');
    const [pod] = podsOf(cluster, job.metadata.name);
    expect(await core.readNamespacedPodLog({ name: pod!.metadata.name, namespace: STAGING })).toBe('');
  });

  it('refuses what the API server refuses: restartPolicy Always, a selector of its own, a new template', async () => {
    const always = manifest('backup');
    (always.spec as { template: { spec: { restartPolicy: string } } }).template.spec.restartPolicy = 'Always';
    const refused = await apiFailure(create(always));
    expect(refused.code).toBe(422);
    expect(refused.status.message).toContain(
      'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
    );

    const selected = manifest('backup');
    selected.spec.selector = { matchLabels: { app: 'mine' } };
    expect((await apiFailure(create(selected))).status.message).toContain('`selector` not auto-generated');

    const job = manifest('backup');
    await create(job);
    const patched = await apiFailure(
      batch.patchNamespacedJob(
        {
          name: job.metadata.name,
          namespace: STAGING,
          body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'postgres:16' }],
        },
        callOptions(5_000, 'json'),
      ),
    );
    expect(patched.code).toBe(422);
    expect(patched.status.message).toContain(
      'spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable',
    );
    await untilFinished(cluster, job.metadata.name);
  });

  it('deletes a Job with its pods in the background, and orphans them when asked to', async () => {
    const background = manifest('backup');
    await create(background);
    await untilFinished(cluster, background.metadata.name);
    expect(podsOf(cluster, background.metadata.name)).toHaveLength(1);
    await batch.deleteNamespacedJob({
      name: background.metadata.name,
      namespace: STAGING,
      propagationPolicy: 'Background',
    });
    await cluster.settle();
    expect(cluster.get('jobs', STAGING, background.metadata.name)).toBeUndefined();
    expect(podsOf(cluster, background.metadata.name)).toEqual([]);

    // batch/v1's default: the pods stay, without their owner.
    const orphaning = manifest('backup');
    await create(orphaning);
    await untilFinished(cluster, orphaning.metadata.name);
    await batch.deleteNamespacedJob({ name: orphaning.metadata.name, namespace: STAGING });
    await cluster.settle();
    const [left] = podsOf(cluster, orphaning.metadata.name);
    expect(left).toBeDefined();
    expect(left!.metadata.ownerReferences).toBeUndefined();
  });

  it('refuses a delete whose uid precondition names another Job', async () => {
    const job = manifest('backup');
    await create(job);
    const refused = await apiFailure(
      batch.deleteNamespacedJob({
        name: job.metadata.name,
        namespace: STAGING,
        body: { preconditions: { uid: 'not-this-one' } },
      }),
    );
    expect(refused.code).toBe(409);
    expect(refused.status.message).toContain('Precondition failed: UID in precondition: not-this-one');
    expect(cluster.get('jobs', STAGING, job.metadata.name)).toBeDefined();
  });

  it('follows a running Job pod’s log until its container exits', async () => {
    const slow = await startCluster({ jobRunMs: 300 });
    try {
      const job = manifest('backup');
      await httpKubeConfig(slow)
        .makeApiClient(BatchV1Api)
        .createNamespacedJob({ namespace: STAGING, body: job as unknown as V1Job });
      const [pod] = await waitFor(
        () => podsOf(slow, job.metadata.name),
        (pods) => statusOf<{ phase?: string }>(pods[0]).phase === 'Running',
        { what: 'the Job pod to run' },
      );
      const response = await fetch(
        `${slow.url}/api/v1/namespaces/${STAGING}/pods/${pod!.metadata.name}/log?follow=true`,
        { headers: { Authorization: `Bearer ${slow.adminToken}` } },
      );
      // The body ends when the container exits: the whole script's output.
      const text = await response.text();
      expect(text).toMatch(/^azora-backup: dumping azora on postgres:5432 as azora into \/backups\//);
      expect(parseScriptReport('backup', text)).toMatchObject({ ok: true });
    } finally {
      await slow.stop();
    }
  });

  it('lets only a role with jobs create start one', async () => {
    const viewer = httpKubeConfig(cluster, 'job-viewer').makeApiClient(BatchV1Api);
    const denied = await apiFailure(
      viewer.createNamespacedJob({ namespace: STAGING, body: manifest('backup') as unknown as V1Job }),
    );
    expect(denied.code).toBe(403);
    expect(denied.status.message).toBe(
      'jobs.batch is forbidden: User "job-viewer" cannot create resource "jobs" in API group "batch" in the namespace "azora-staging"',
    );
    const runner = httpKubeConfig(cluster, 'job-runner').makeApiClient(BatchV1Api);
    const job = manifest('backup');
    await runner.createNamespacedJob({ namespace: STAGING, body: job as unknown as V1Job });
    await untilFinished(cluster, job.metadata.name);
  });
});

describe('a Job deadline on the cluster clock', () => {
  let now = T0;
  let cluster: SimulatedCluster;
  beforeAll(async () => {
    cluster = await startCluster({ clock: () => now, jobRunMs: 60 * 60_000 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('fails the Job with DeadlineExceeded at activeDeadlineSeconds and stops its pod', async () => {
    const job = manifest('backup');
    const name = job.metadata.name;
    expect(job.spec.activeDeadlineSeconds).toBe(30 * 60);
    await httpKubeConfig(cluster)
      .makeApiClient(BatchV1Api)
      .createNamespacedJob({ namespace: STAGING, body: job as unknown as V1Job });
    await cluster.settle();
    expect(statusOf<JobStatus>(cluster.get('jobs', STAGING, name))).toMatchObject({ active: 1, ready: 1 });
    expect(podsOf(cluster, name)).toHaveLength(1);

    now += 29 * 60_000;
    await cluster.settle();
    expect(finished(cluster.get('jobs', STAGING, name))).toBe(false);

    now += 60_000;
    await cluster.settle();
    const done = cluster.get('jobs', STAGING, name);
    expect(statusOf<JobStatus>(done).conditions!.find((c) => c.type === 'Failed')).toMatchObject({
      reason: 'DeadlineExceeded',
      message: 'Job was active longer than specified deadline',
    });
    expect(statusOf<JobStatus>(done).active).toBeUndefined();
    expect(podsOf(cluster, name)).toEqual([]);
    // The script never got to its end: no dump.
    expect(cluster.database.dumps(STAGING, CLAIM)).toEqual([]);
  });
});

/** Both kubectls of the parity tests: the one on PATH and 1.33 (test/setup/tools.ts). */
const KUBECTLS: Array<[string, string]> = [
  [`the kubectl on PATH (${kubectlVersion(SYSTEM_KUBECTL)})`, SYSTEM_KUBECTL],
  [`kubectl 1.33 (${kubectlVersion(tools().kubectl)})`, tools().kubectl],
];

describe.each(KUBECTLS)('Jobs through %s', (_name, binary) => {
  let cluster: SimulatedCluster;
  let dir: string;
  let kubeconfig: string;
  let viewerKubeconfig: string;
  let done: JobManifest;
  let failed: JobManifest;

  const kubectl = (args: string[], config = kubeconfig) => runKubectl(binary, config, dir, args);
  const ok = async (...args: string[]): Promise<string> => {
    const run = await kubectl(args);
    if (run.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
    return run.stdout;
  };

  beforeAll(async () => {
    cluster = await startCluster({
      jobRunMs: 0,
      identities: {
        'job-viewer': {
          name: 'job-viewer',
          rules: [{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch'] }],
        },
      },
    });
    dir = mkdtempSync(path.join(os.tmpdir(), 'azora-jobs-'));
    kubeconfig = path.join(dir, 'kubeconfig');
    viewerKubeconfig = path.join(dir, 'viewer-kubeconfig');
    await cluster.writeKubeconfig(kubeconfig);
    await cluster.writeKubeconfig(viewerKubeconfig, { token: 'job-viewer' });
    const batch = httpKubeConfig(cluster).makeApiClient(BatchV1Api);
    done = manifest('backup');
    failed = manifest('restore', { backupId: 'azora-backup-staging-20310101-0000-beef' });
    for (const job of [done, failed]) {
      await batch.createNamespacedJob({ namespace: STAGING, body: job as unknown as V1Job });
      await untilFinished(cluster, job.metadata.name);
    }
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds jobs in discovery', async () => {
    const resources = await ok('api-resources', '--api-group=batch', '--no-headers');
    expect(resources).toMatch(/^jobs\s+batch\/v1\s+true\s+Job$/m);
  });

  it('lists jobs as the API server prints them', async () => {
    const table = await ok('get', 'jobs', '-n', STAGING);
    const [header, ...rows] = table.trim().split('\n');
    expect(header).toMatch(/^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE$/);
    const byName = new Map(rows.map((r) => r.trim().split(/\s+/)).map((cells) => [cells[0], cells]));
    expect(byName.get(done.metadata.name)?.slice(1, 3)).toEqual(['Complete', '1/1']);
    expect(byName.get(failed.metadata.name)?.slice(1, 3)).toEqual(['Failed', '0/1']);
    expect(byName.get(done.metadata.name)?.[3]).toMatch(/^\d+s$/);

    const wide = await ok('get', 'job', done.metadata.name, '-n', STAGING, '-o', 'wide');
    expect(wide.split('\n')[0]).toMatch(/CONTAINERS\s+IMAGES\s+SELECTOR$/);
    expect(wide).toMatch(/backup\s+postgres:15\s+batch\.kubernetes\.io\/controller-uid=[0-9a-f-]+/);
  });

  it('prints a Job’s log through its pod', async () => {
    const log = await ok('logs', `job/${done.metadata.name}`, '-n', STAGING);
    expect(parseScriptReport('backup', log)).toMatchObject({
      ok: true,
      file: `/backups/${done.metadata.name}.sql`,
    });
    const failing = await ok('logs', `job/${failed.metadata.name}`, '-n', STAGING);
    expect(failing.trim().split('\n').pop()).toBe(
      'azora-restore: failed no backup azora-backup-staging-20310101-0000-beef: /backups/azora-backup-staging-20310101-0000-beef.sql does not exist',
    );
  });

  it('shows the pods as Completed and Error', async () => {
    const pods = await ok('get', 'pods', '-n', STAGING, '-l', 'job-name', '--no-headers');
    const statusOfPod = (job: string) =>
      pods
        .split('\n')
        .find((line) => line.startsWith(`${job}-`))
        ?.trim()
        .split(/\s+/)
        .slice(1, 3);
    expect(statusOfPod(done.metadata.name)).toEqual(['0/1', 'Completed']);
    expect(statusOfPod(failed.metadata.name)).toEqual(['0/1', 'Error']);
  });

  it('forbids creating a Job to a role without jobs create', async () => {
    const job = manifest('backup');
    const file = path.join(dir, `${job.metadata.name}.json`);
    writeFileSync(file, JSON.stringify(job));
    const run = await kubectl(['create', '--validate=false', '-f', file], viewerKubeconfig);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      'cannot create resource "jobs" in API group "batch" in the namespace "azora-staging"',
    );
    expect(cluster.get('jobs', STAGING, job.metadata.name)).toBeUndefined();
  });

  it('deletes a Job and its pod', async () => {
    const job = manifest('backup');
    const file = path.join(dir, `${job.metadata.name}.json`);
    writeFileSync(file, JSON.stringify(job));
    await ok('create', '--validate=false', '-f', file);
    await untilFinished(cluster, job.metadata.name);
    expect(podsOf(cluster, job.metadata.name)).toHaveLength(1);
    await ok('delete', 'job', job.metadata.name, '-n', STAGING);
    await cluster.settle();
    expect(podsOf(cluster, job.metadata.name)).toEqual([]);
  });
});
