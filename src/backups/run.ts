import { createHash } from 'node:crypto';
import type { BackupPolicy } from '../config/policy';
import type { Deps } from '../deps';
import type { EnvironmentName } from '../kernel/domain/environment';
import { Refusal } from '../kernel/domain/refusal';
import { environmentOf } from '../kernel/domain/topology';
import { databaseJob, databaseJobName, parseScriptReport, takenAt, type DatabaseJobKind } from './domain/job';
import type { BackupEntry } from './store';

/** The database, not a service: what backups and restores lock, so they never overlap. */
export const DATABASE_LOCK = 'database';
const DAY_MS = 86_400_000;

/** How one backup or restore Job went, as the thread tells it. */
export interface JobRun {
  job: string;
  ok: boolean;
  bytes?: number;
  file?: string;
  verify?: string;
  reason?: string;
  durationMs: number;
}

export function backupPolicyOf(deps: Pick<Deps, 'policy'>, env: EnvironmentName): BackupPolicy {
  const template = deps.policy.backups[env];
  if (!template) throw new Refusal('plan', `${env} has no backups in the policy (backups.${env})`);
  return template;
}

/** A stable 4-hex salt from `seed`: a retried job names the same Job and finds it. */
export const saltOf = (seed: string): string => createHash('sha256').update(seed).digest('hex').slice(0, 4);

/** The backup's id (its Job's name), fixed by what asked for it and when. */
export const backupIdOf = (env: EnvironmentName, origin: { seed: string; at: number }): string =>
  databaseJobName('backup', env, origin.at, saltOf(origin.seed));

/** Runs one database Job to its end: created once (a retry finds it), waited for, its report read. */
export async function runDatabaseJob(
  deps: Deps,
  options: { kind: DatabaseJobKind; env: EnvironmentName; name: string; backupId: string; request: string },
): Promise<JobRun> {
  const { kind, env, name, backupId, request } = options;
  const template = backupPolicyOf(deps, env);
  const started = deps.now();
  const manifest = databaseJob({
    kind,
    name,
    environment: env,
    namespace: environmentOf(deps.policy, env).namespace,
    template,
    backupId,
    request: request.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 63),
  });
  await deps.kube.createJob(env, manifest);
  // The Job's own deadline ends it first; this one only stops a wait on a cluster that never says.
  const outcome = await deps.kube.waitForJob(env, name, template.deadline + 60_000);
  const report = parseScriptReport(kind, outcome.log);
  const durationMs = Math.max(0, (outcome.finishedAt ?? deps.now()) - (outcome.startedAt ?? started));
  if (outcome.status === 'succeeded' && report?.ok) {
    return {
      job: name,
      ok: true,
      durationMs,
      ...(report.bytes !== undefined ? { bytes: report.bytes } : {}),
      ...(report.file ? { file: report.file } : {}),
      ...(report.verify !== undefined ? { verify: report.verify } : {}),
    };
  }
  const reason =
    report && !report.ok
      ? report.reason
      : (outcome.reason ?? `the Job ${outcome.status === 'succeeded' ? 'ended without a report' : 'failed'}`);
  return { job: name, ok: false, reason, durationMs };
}

/**
 * A backup now: its Job, its report indexed, and the Jobs beyond the policy's `keep`
 * deleted (the script prunes their dumps). `seed` fixes the name, so a retry finds it.
 */
export async function takeBackup(
  deps: Deps,
  env: EnvironmentName,
  by: string,
  /** What fixes the backup's name across retries: the job or request, and when it was asked for. */
  origin: { seed: string; at: number },
): Promise<{ id: string; run: JobRun }> {
  const template = backupPolicyOf(deps, env);
  const startedAt = deps.now();
  const id = backupIdOf(env, origin);
  const run = await runDatabaseJob(deps, { kind: 'backup', env, name: id, backupId: id, request: by });
  const entry: BackupEntry = {
    id,
    environment: env,
    by,
    ok: run.ok,
    startedAt,
    finishedAt: deps.now(),
    ...(run.bytes !== undefined ? { bytes: run.bytes } : {}),
    ...(run.file ? { file: run.file } : {}),
    ...(run.reason ? { reason: run.reason } : {}),
  };
  await deps.backups.record(entry);
  // The backup is made: a failed tidy-up must not turn it into a failure (the next one prunes).
  await prune(deps, env, template.keep).catch((err: Error) =>
    deps.logger.warn({ env, backup: id, err: err.message }, 'could not prune old backup Jobs'),
  );
  return { id, run };
}

/**
 * The guide's retention, `keep` days: a backup's Job goes once it is older than that and
 * not among the newest `keep` of its kind (a quiet environment still keeps that many), and
 * so does a restore's Job that ended that long ago (they were never deleted). A
 * day of deploys, each with its backup first, no longer pushes the daily backups out
 * early. Successful and failed ones are counted apart: a run of failures must never
 * delete the good backups (the script keeps their dumps, and a restore needs their Jobs).
 */
async function prune(deps: Deps, env: EnvironmentName, keep: number): Promise<void> {
  const jobs = await deps.kube.listJobs(env, 'backup');
  const cutoff = deps.now() - keep * DAY_MS;
  const old = (['succeeded', 'failed'] as const).flatMap((status) =>
    jobs
      .filter((j) => j.status === status)
      .slice(keep)
      // By the time in its id, as backup.sh prunes its dump: a daily backup postponed for a
      // busy database is named for 02:00 and goes with its dump, not two hours later.
      .filter((j) => (takenAt(j.backupId) ?? j.createdAt) < cutoff),
  );
  for (const job of old) await deps.kube.deleteJob(env, job.name);
  await deps.backups.forget(
    env,
    old.map((j) => j.backupId),
  );
  // A restore's Job is only its log once it ended: kept as long as a backup, then gone.
  const restores = await deps.kube.listJobs(env, 'restore');
  for (const job of restores.filter((j) => j.status !== 'running' && (j.finishedAt ?? j.createdAt) < cutoff))
    await deps.kube.deleteJob(env, job.name);
}

/**
 * A backup with the database locked (no restore or second backup meanwhile), whatever
 * happens told as a run: a Job that could not be made or watched is a failed backup too,
 * not an exception nobody reads. `busy` names what held the database instead.
 */
export async function lockedBackup(
  deps: Deps,
  env: EnvironmentName,
  by: string,
  origin: { seed: string; at: number },
): Promise<{ id: string; run: JobRun; busy?: string }> {
  const template = backupPolicyOf(deps, env);
  const id = backupIdOf(env, origin);
  const held = await deps.locks.acquireAll(env, [DATABASE_LOCK], id, template.deadline + 120_000);
  if (!held.ok) {
    return {
      id,
      busy: held.holder,
      run: { job: id, ok: false, reason: `the database is busy with ${held.holder}`, durationMs: 0 },
    };
  }
  try {
    return await takeBackup(deps, env, by, origin);
  } catch (err) {
    return {
      id,
      run: {
        job: id,
        ok: false,
        reason: `the bot could not run its Job: ${(err as Error).message}`,
        durationMs: 0,
      },
    };
  } finally {
    await deps.locks.releaseAll(env, [DATABASE_LOCK], id);
  }
}
