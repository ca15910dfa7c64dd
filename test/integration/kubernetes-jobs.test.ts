import { BatchV1Api, KubeConfig, type V1Job } from '@kubernetes/client-node';
import { databaseJob, databaseJobName, parseScriptReport } from '../../src/backups/domain/job';
import type { BackupPolicy } from '../../src/config/policy';
import { LABELS, type DatabaseJobKind, type JobManifest } from '../../src/kernel/domain/database-job';
import type { EnvironmentName } from '../../src/kernel/domain/environment';
import { KubeError } from '../../src/kernel/kubernetes/errors';
import type { ClusterPort } from '../../src/kernel/kubernetes/port';
import { FakeCluster } from '../kit/fakes/cluster';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import { PROD, STG } from '../kit/ids';

/**
 * The bot's database Jobs through the real adapter against the simulated API server (its
 * Job controller and PostgreSQL): create (idempotent, refused outside the environment's
 * namespace or without the bot's label), wait (status, reason, the end of the pod's log),
 * list (the bot's, by labels, newest first) and delete (only the bot's, with its pods).
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
const NAMESPACES: Record<EnvironmentName, string> = { staging: STG, production: PROD };

let salt = 0;
function manifest(
  kind: DatabaseJobKind,
  options: {
    env?: EnvironmentName;
    backupId?: string;
    at?: number;
    request?: string;
    template?: Partial<BackupPolicy>;
  } = {},
): JobManifest {
  salt += 1;
  const env = options.env ?? 'staging';
  const name = databaseJobName(kind, env, options.at ?? T0, salt.toString(16).padStart(4, '0'));
  return databaseJob({
    kind,
    name,
    environment: env,
    namespace: NAMESPACES[env],
    template: { ...TEMPLATE, ...options.template },
    backupId: options.backupId ?? name,
    request: options.request ?? `req-${salt}`,
  });
}

const kubeError = async (promise: Promise<unknown>): Promise<KubeError> => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KubeError);
  return err as KubeError;
};

const clusters: TestCluster[] = [];
async function cluster(options: Parameters<typeof startTestCluster>[0] = {}): Promise<TestCluster> {
  const t = await startTestCluster({ jobRunMs: 0, ...options });
  clusters.push(t);
  return t;
}
afterAll(async () => {
  await Promise.all(clusters.map((t) => t.sim.stop()));
});

/** A client of the cluster's own, for Jobs that are not the bot's. */
const batchOf = (t: TestCluster) => {
  const config = new KubeConfig();
  t.load(config);
  return config.makeApiClient(BatchV1Api);
};

describe('database Jobs through the adapter', () => {
  let t: TestCluster;
  beforeAll(async () => {
    t = await cluster();
  });

  it('backs up, then a restore brings the users count back and reports it', async () => {
    const before = t.sim.database.users(STG);
    const backup = manifest('backup');
    expect(await t.kube.createJob('staging', backup)).toEqual({ created: true });
    const made = await t.kube.waitForJob('staging', backup.metadata.name, 10_000);
    expect(made.status).toBe('succeeded');
    expect(made.startedAt).toEqual(expect.any(Number));
    expect(made.finishedAt).toBeGreaterThanOrEqual(made.startedAt!);
    const [dump] = t.sim.database.dumps(STG, CLAIM);
    expect(parseScriptReport('backup', made.log)).toEqual({
      ok: true,
      file: `/backups/${backup.metadata.name}.sql`,
      bytes: dump!.bytes,
    });

    t.sim.database.setUsers(STG, before - 1_234);
    const restore = manifest('restore', { backupId: backup.metadata.name });
    expect(await t.kube.createJob('staging', restore)).toEqual({ created: true });
    const restored = await t.kube.waitForJob('staging', restore.metadata.name, 10_000);
    expect(restored.status).toBe('succeeded');
    expect(parseScriptReport('restore', restored.log)).toEqual({
      ok: true,
      file: `/backups/${backup.metadata.name}.sql`,
      verify: String(before),
    });
    expect(t.sim.database.users(STG)).toBe(before);
  });

  it('reads the end of the pod’s log, bounded', async () => {
    const backup = manifest('backup');
    await t.kube.createJob('staging', backup);
    await t.kube.waitForJob('staging', backup.metadata.name, 10_000);
    const reads = t.sim.requests.filter(
      (r) => r.method === 'GET' && r.url.includes(`/pods/${backup.metadata.name}-`),
    );
    expect(reads).toHaveLength(1);
    const query = new URL(reads[0]!.url, 'http://x').searchParams;
    expect(query.get('tailLines')).toBe('200');
    expect(query.get('limitBytes')).toBe(String(64 * 1024));
    expect(query.get('container')).toBe('backup');
    expect(
      t.sim.requests.some((r) =>
        r.url.includes(
          `labelSelector=${encodeURIComponent(`batch.kubernetes.io/job-name=${backup.metadata.name}`)}`,
        ),
      ),
    ).toBe(true);
  });

  it('fails a restore whose dump is missing, with the reason from its log', async () => {
    const restore = manifest('restore', { backupId: 'azora-backup-staging-20310101-0000-dead' });
    await t.kube.createJob('staging', restore);
    const outcome = await t.kube.waitForJob('staging', restore.metadata.name, 10_000);
    expect(outcome).toMatchObject({
      status: 'failed',
      reason: 'BackoffLimitExceeded: Job has reached the specified backoff limit',
    });
    expect(parseScriptReport('restore', outcome.log)).toEqual({
      ok: false,
      reason:
        'no backup azora-backup-staging-20310101-0000-dead: /backups/azora-backup-staging-20310101-0000-dead.sql does not exist',
    });
  });

  it('creates a Job once: a retried create leaves it as it is', async () => {
    const backup = manifest('backup');
    expect(await t.kube.createJob('staging', backup)).toEqual({ created: true });
    const uid = t.sim.get('jobs', STG, backup.metadata.name)!.metadata.uid;
    expect(await t.kube.createJob('staging', backup)).toEqual({ created: false });
    expect(t.sim.get('jobs', STG, backup.metadata.name)!.metadata.uid).toBe(uid);
  });

  it('refuses a manifest outside the environment’s namespace, without the bot’s label, or over a Job not the bot’s', async () => {
    const elsewhere = manifest('backup');
    elsewhere.metadata.namespace = PROD;
    const wrong = await kubeError(t.kube.createJob('staging', elsewhere));
    expect(wrong.kind).toBe('precondition');
    expect(wrong.message).toBe(
      `not creating job ${elsewhere.metadata.name} in namespace ${PROD}: staging runs in ${STG} (policy environments.staging.namespace)`,
    );

    const unlabelled = manifest('backup');
    delete (unlabelled.metadata.labels as Record<string, string>)[LABELS.managedBy];
    const anonymous = await kubeError(t.kube.createJob('staging', unlabelled));
    expect(anonymous.kind).toBe('precondition');
    expect(anonymous.message).toContain('app.kubernetes.io/managed-by=azora-chatops');

    const mislabelled = manifest('backup', { env: 'production' });
    mislabelled.metadata.namespace = STG;
    expect((await kubeError(t.kube.createJob('staging', mislabelled))).kind).toBe('precondition');

    for (const m of [elsewhere, unlabelled, mislabelled]) {
      expect(t.sim.get('jobs', m.metadata.namespace, m.metadata.name)).toBeUndefined();
    }

    // Someone else's Job under the same name: not taken for the bot's.
    const taken = manifest('backup');
    const theirs = structuredClone(taken);
    delete (theirs.metadata.labels as Record<string, string>)[LABELS.managedBy];
    await batchOf(t).createNamespacedJob({ namespace: STG, body: theirs as unknown as V1Job });
    const clash = await kubeError(t.kube.createJob('staging', taken));
    expect(clash.kind).toBe('precondition');
    expect(clash.message).toBe(
      `job ${taken.metadata.name} in ${STG} is not one of the bot's (no app.kubernetes.io/managed-by=azora-chatops label): not creating it`,
    );
  });

  it('deletes one of its Jobs with its pods, is fine with one gone, and refuses one not its own', async () => {
    const backup = manifest('backup');
    await t.kube.createJob('staging', backup);
    await t.kube.waitForJob('staging', backup.metadata.name, 10_000);
    const pods = () =>
      t.sim
        .list('pods', STG)
        .filter((p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === backup.metadata.name);
    expect(pods()).toHaveLength(1);

    await t.kube.deleteJob('staging', backup.metadata.name);
    await t.sim.settle();
    expect(t.sim.get('jobs', STG, backup.metadata.name)).toBeUndefined();
    expect(pods()).toEqual([]);
    const deletes = t.sim.requests.filter((r) => r.method === 'DELETE');
    expect(deletes.at(-1)!.url).toContain('propagationPolicy=Background');

    await expect(t.kube.deleteJob('staging', backup.metadata.name)).resolves.toBeUndefined();

    const theirs = manifest('backup');
    delete (theirs.metadata.labels as Record<string, string>)[LABELS.managedBy];
    await batchOf(t).createNamespacedJob({ namespace: STG, body: theirs as unknown as V1Job });
    const refused = await kubeError(t.kube.deleteJob('staging', theirs.metadata.name));
    expect(refused.kind).toBe('precondition');
    expect(refused.message).toBe(
      `job ${theirs.metadata.name} in ${STG} is not one of the bot's (no app.kubernetes.io/managed-by=azora-chatops label): not deleting it`,
    );
    expect(t.sim.get('jobs', STG, theirs.metadata.name)).toBeDefined();
  });

  it('names a Job that is not there', async () => {
    const missing = await kubeError(
      t.kube.waitForJob('staging', 'azora-backup-staging-20310101-0000-none', 1_000),
    );
    expect(missing.kind).toBe('not-found');
  });
});

describe('database Jobs on the cluster clock', () => {
  let now = T0;
  let t: TestCluster;
  beforeAll(async () => {
    // Containers run 20 minutes; the template's deadline is 30.
    t = await cluster({ clock: () => now, jobRunMs: 20 * 60_000 });
  });

  it('lists the bot’s Jobs of a kind, newest first, with what their labels and status say', async () => {
    const first = manifest('backup', { request: 'req-first' });
    await t.kube.createJob('staging', first);
    now += 60 * 60_000;
    await t.sim.settle();
    const second = manifest('backup', { request: 'req-second' });
    await t.kube.createJob('staging', second);
    now += 60_000;
    const third = manifest('backup', { request: 'req-third' });
    await t.kube.createJob('staging', third);
    const restore = manifest('restore', { backupId: first.metadata.name });
    await t.kube.createJob('staging', restore);
    // Not the bot's, though labelled like a backup.
    const theirs = manifest('backup');
    delete (theirs.metadata.labels as Record<string, string>)[LABELS.managedBy];
    await batchOf(t).createNamespacedJob({ namespace: STG, body: theirs as unknown as V1Job });
    await t.sim.settle();

    const backups = await t.kube.listJobs('staging', 'backup');
    expect(backups.map((j) => j.name)).toEqual([
      third.metadata.name,
      second.metadata.name,
      first.metadata.name,
    ]);
    const [newest, , oldest] = backups;
    expect(newest).toEqual({
      name: third.metadata.name,
      kind: 'backup',
      backupId: third.metadata.name,
      request: 'req-third',
      status: 'running',
      createdAt: now,
      startedAt: now,
    });
    expect(oldest).toEqual({
      name: first.metadata.name,
      kind: 'backup',
      backupId: first.metadata.name,
      request: 'req-first',
      status: 'succeeded',
      createdAt: T0,
      startedAt: T0,
      finishedAt: T0 + 60 * 60_000,
    });
    expect(await t.kube.listJobs('staging', 'restore')).toEqual([
      expect.objectContaining({
        name: restore.metadata.name,
        backupId: first.metadata.name,
        status: 'running',
      }),
    ]);
    expect(await t.kube.listJobs('production', 'backup')).toEqual([]);
  });

  it('waits no longer than its deadline for a Job that runs on', async () => {
    const slow = manifest('backup');
    await t.kube.createJob('staging', slow);
    const late = await kubeError(t.kube.waitForJob('staging', slow.metadata.name, 1_000));
    expect(late.kind).toBe('deadline');
    expect(late.message).toBe(`job ${slow.metadata.name} did not finish within 1s`);
  });

  it('reports a Job stopped at its deadline, which left no log', async () => {
    const stuck = manifest('backup', { template: { deadline: 10 * 60_000 } });
    expect(stuck.spec.activeDeadlineSeconds).toBe(600);
    await t.kube.createJob('staging', stuck);
    await t.sim.settle();
    now += 11 * 60_000;
    // No settle: the adapter's polls are what make the cluster look at the clock again.
    const outcome = await t.kube.waitForJob('staging', stuck.metadata.name, 5_000);
    expect(outcome).toMatchObject({
      status: 'failed',
      reason: 'DeadlineExceeded: Job was active longer than specified deadline',
      log: '',
    });
    expect(outcome.finishedAt).toBe(Math.floor(now / 1000) * 1000);
  });
});

describe('the fake cluster of the unit tests answers database Jobs as the adapter does', () => {
  let t: TestCluster;
  let fake: FakeCluster;
  beforeAll(async () => {
    t = await cluster();
    fake = new FakeCluster(t.policy);
  });

  const outcome = <T>(
    promise: Promise<T>,
  ): Promise<{ value: T } | { error: { kind: string; message: string } }> =>
    promise.then(
      (value) => ({ value }),
      (err: unknown) => {
        if (!(err instanceof KubeError)) throw err;
        return { error: { kind: err.kind, message: err.message } };
      },
    );
  async function both<T>(call: (port: ClusterPort) => Promise<T>) {
    const [real, faked] = [await outcome(call(t.kube)), await outcome(call(fake))];
    expect(faked).toEqual(real);
    return real;
  }

  it('refuses and answers in the same words', async () => {
    const elsewhere = manifest('backup');
    elsewhere.metadata.namespace = PROD;
    const unlabelled = manifest('backup');
    delete (unlabelled.metadata.labels as Record<string, string>)[LABELS.managedBy];
    expect(await both((p) => p.createJob('staging', elsewhere))).toHaveProperty('error.kind', 'precondition');
    expect(await both((p) => p.createJob('staging', unlabelled))).toHaveProperty(
      'error.kind',
      'precondition',
    );
    expect(
      await both((p) => p.waitForJob('staging', 'azora-backup-staging-20310101-0000-none', 1_000)),
    ).toHaveProperty('error.kind', 'not-found');
    await both((p) => p.deleteJob('staging', 'azora-backup-staging-20310101-0000-none'));
  });

  it('creates once, ends as the scripts report, lists and deletes alike', async () => {
    const backup = manifest('backup');
    await both((p) => p.createJob('staging', backup));
    await both((p) => p.createJob('staging', backup));
    const [real, faked] = [
      await t.kube.waitForJob('staging', backup.metadata.name, 10_000),
      await fake.waitForJob('staging', backup.metadata.name, 10_000),
    ];
    expect(faked.status).toBe(real.status);
    expect(parseScriptReport('backup', faked.log)).toEqual({
      ...(parseScriptReport('backup', real.log) as object),
      bytes: expect.any(Number),
    });
    const strip = (jobs: Awaited<ReturnType<ClusterPort['listJobs']>>) =>
      jobs.map(({ name, kind, backupId, request, status }) => ({ name, kind, backupId, request, status }));
    expect(strip(await fake.listJobs('staging', 'backup'))).toEqual(
      strip(await t.kube.listJobs('staging', 'backup')),
    );
    await both((p) => p.deleteJob('staging', backup.metadata.name));
    expect(strip(await fake.listJobs('staging', 'backup'))).toEqual(
      strip(await t.kube.listJobs('staging', 'backup')),
    );
  });
});
