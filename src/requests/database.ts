import type { Deps } from '../deps';
import { formatDuration } from '../kernel/domain/duration';
import { databaseJobName } from '../backups/domain/job';
import { backupPolicyOf, DATABASE_LOCK, formatBytes, runDatabaseJob, saltOf, takeBackup } from '../backups';
import { endWindowEarly, scheduleWindow, WindowNotLifted } from '../maintenance';
import type { OpsRequest, PlanStep } from './domain/types';
import { StalePlan, StepFailed } from './stale';
import type { Policy } from '../config/policy';
import type { EnvironmentName } from '../kernel/domain/environment';

/** What a request locks: its services, and the database when a step backs it up or restores it. */
export function lockedBy(request: OpsRequest): string[] {
  const database = request.plan.some((s) => s.kind === 'backup' || s.kind === 'restore');
  return database ? [...request.services, DATABASE_LOCK] : request.services;
}

/** The maintenance window a restore opens: fixed by the request, so a retry finds it. */
export const restoreWindowId = (request: OpsRequest): string => `m${request.id.slice(1)}`;

/** The backup before a deploy: its failure stops the request before anything else is touched. */
export async function applyBackup(deps: Deps, request: OpsRequest): Promise<string> {
  const env = request.environment;
  const { id, run } = await takeBackup(deps, env, request.id, {
    seed: request.id,
    at: request.startedAt ?? deps.now(),
  });
  if (!run.ok)
    throw new StepFailed(
      `the backup before the deploy failed (${id}): ${run.reason ?? 'no reason'}; nothing else was touched`,
    );
  return `database: backed up as ${id} (${formatBytes(run.bytes)}) in ${formatDuration(run.durationMs)}`;
}

/**
 * A restore: the maintenance window first (announced, the environment's alerts silenced),
 * then the restore Job and its verification query. Success closes the window; a failure
 * leaves it open for a person to close once they know the database is sound.
 */
export async function applyRestore(
  deps: Deps,
  request: OpsRequest,
  step: Extract<PlanStep, { kind: 'restore' }>,
): Promise<string> {
  const env = request.environment;
  const template = backupPolicyOf(deps, env);
  const windowId = restoreWindowId(request);
  const name = databaseJobName('restore', env, request.startedAt ?? deps.now(), saltOf(request.id));
  const window = await deps.maintenanceWindows.get(windowId);
  // A retry after the worker died between closing the window and recording the step: the
  // restore ran (its Job ended); its outcome is read again, and the window stays closed.
  const ranBefore =
    window?.status === 'done' &&
    (await deps.kube.listJobs(env, 'restore')).some((j) => j.name === name && j.status !== 'running');
  if (!ranBefore) {
    // Checked before the window opens (a retry finds it open, and its backup was there): a
    // backup pruned while the request waited would fail the restore with the window open.
    if (!window) await stillThere(deps, request, step.backupId);
    await scheduleWindow(deps, {
      id: windowId,
      environment: env,
      start: deps.now() + 1_000,
      durationMs: step.windowMs,
      reason: `Database restore from ${step.backupId} (request ${request.id})`,
      requester: request.requester,
    });
    await untilWindowRuns(deps, windowId);
  }
  const run = await runDatabaseJob(deps, {
    kind: 'restore',
    env,
    name,
    backupId: step.backupId,
    request: request.id,
  });
  if (!run.ok) {
    throw new StepFailed(
      `the restore from ${step.backupId} failed (Job ${name}): ${run.reason ?? 'no reason'}; maintenance ${windowId} stays open until someone closes it`,
    );
  }
  const restored = `database: restored from ${step.backupId} in ${formatDuration(run.durationMs)} · ${template.verify} → ${run.verify ?? '(no figure)'}`;
  if (ranBefore) return `${restored} · maintenance ${windowId} closed`;
  // The database is restored whatever happens to the silences: a restore is never
  // reported failed (and so run again) because Alertmanager could not be reached after it.
  const closed = await endWindowEarly(deps, windowId, 'bot').then(
    () => `maintenance ${windowId} closed`,
    (err: unknown) => {
      if (!(err instanceof WindowNotLifted)) throw err;
      return `:warning: ${err.message}`;
    },
  );
  return `${restored} · ${closed}`;
}

/** The approved backup is still there to restore from, or the plan no longer holds. */
async function stillThere(deps: Deps, request: OpsRequest, backupId: string): Promise<void> {
  const job = (await deps.kube.listJobs(request.environment, 'backup')).find((j) => j.backupId === backupId);
  if (job?.status !== 'succeeded')
    throw new StalePlan(
      `backup ${backupId} is ${job ? `${job.status} now` : 'gone (pruned since it was planned)'}; nothing was changed, restore another one (\`/azora backups ${request.environment}\`)`,
    );
}

/** How long a restore waits for its window's start (the silences) before it refuses to go on. */
const WINDOW_START_MS = 60_000;

/** The most a step keeps its change locks renewed, when nothing in the policy asks for longer. */
export const MAX_STEP_HOLD_MS = 60 * 60_000;

/**
 * How long a step keeps its change locks renewed: a backup or restore for as long as its
 * Job may run (the policy's deadline, with the window's start and a margin for the Job's
 * pod and its log), so that no other change on the database starts beside a running
 * `psql --single-transaction`; any other step, an hour. Past this, a step that hangs
 * gives its locks up within one lease.
 */
export function stepHoldMs(policy: Policy, env: EnvironmentName, step: PlanStep): number {
  if (step.kind !== 'backup' && step.kind !== 'restore') return MAX_STEP_HOLD_MS;
  const deadline = policy.backups[env]?.deadline ?? 0;
  return Math.max(MAX_STEP_HOLD_MS, deadline + WINDOW_START_MS + 5 * 60_000);
}

/**
 * The restore Job starts only once its window runs (the environment's alerts silenced), so
 * the alerts a restore sets off never page anyone; a window that does not start stops it.
 */
async function untilWindowRuns(deps: Deps, windowId: string): Promise<void> {
  const deadline = deps.now() + WINDOW_START_MS;
  for (;;) {
    const window = await deps.maintenanceWindows.get(windowId);
    if (window?.status === 'active') return;
    if (window && window.status !== 'scheduled')
      throw new StepFailed(`maintenance ${windowId} is ${window.status}: not restoring outside a window`);
    if (deps.now() > deadline)
      throw new StepFailed(
        `maintenance ${windowId} did not start within a minute (is a worker processing notices?)`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
