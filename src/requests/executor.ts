import { Refusal } from '../kernel/domain/refusal';
import { KubeError } from '../kernel/kubernetes/errors';
import { formatDuration } from '../kernel/domain/duration';
import type { Colour } from '../kernel/domain/environment';
import { checkCooldown, planNeedsApproval, type Verdict } from './domain/guards';
import { checkPlanAgainstPolicy } from './domain/validate';
import { FINAL_STATUSES, type OpsRequest, type PlanStep } from './domain/types';
import { workloadOf } from '../kernel/domain/topology';
import type { Deps } from '../deps';
import { commandText } from './domain/describe';
import { progressMessage, requestMessage } from './views';
import type { SlackMessage } from '../kernel/slack/blocks';
import { cancelWindow, moveWindow, scheduleWindow } from '../maintenance';
import {
  colourImages,
  indexRelease,
  previousLive,
  promotionProblem,
  recordRelease,
  releaseImageOf,
} from '../releases';
import { versionOf, type ReleaseAction, type ReleaseRecord } from '../kernel/domain/release';
import { applyDeploy } from './deploy';
import { applyBackup, applyRestore, lockedBy, stepHoldMs } from './database';
import { StalePlan, StepFailed } from './stale';
import { auditOf } from './audit';
import { releaseRecord } from './release-record';
import type { Snapshot } from '../kernel/versioned';

/**
 * How a run ended. `locked`: refused (so stored) because another change holds a lock it
 * needs; unlike any other refusal, something that may be asked again once that change ends.
 */
export type ExecutionResult = 'succeeded' | 'failed' | 'refused' | 'locked' | 'stale' | 'skipped';

/**
 * Runs an approved request: claims it, takes the change locks, re-checks every guard
 * against the live cluster, applies the pinned plan step by step and tells the thread.
 * Safe to run again after a crash: finished requests are skipped and every step is a
 * no-op once applied. `owned`, when given, is asked before each step and before the
 * verdict of a run that got to its steps: a run whose worker stalled past the stall time,
 * and whose job another run took over, stops there and leaves the change, its lock and its
 * report to that run.
 */
export async function executeRequest(
  deps: Deps,
  id: string,
  retry: {
    finalAttempt: boolean;
    owned?: (() => Promise<boolean>) | undefined;
    /** The request as its approval stored it, carried by the job: the claim starts from it, not a read. */
    approved?: Snapshot<OpsRequest> | undefined;
  },
): Promise<ExecutionResult> {
  const { requests, locks, policy, now } = deps;
  const claimed = await requests.update(
    id,
    (current) =>
      current.status === 'approved' || current.status === 'running'
        ? {
            next: { ...current, status: 'running', startedAt: current.startedAt ?? now() },
            value: current.status === 'approved' ? ('first' as const) : ('retry' as const),
          }
        : { value: undefined },
    retry.approved,
  );
  if (!claimed?.value) return 'skipped';
  let request = claimed.request;
  // The start's audit event must be in before anything changes or is recorded after it,
  // not before the checks and the first read: it is written while they run.
  const started =
    claimed.value === 'first'
      ? deps.audit.record(auditOf(request, 'started', request.approvedBy?.user ?? request.requester))
      : Promise.resolve();
  // Its failure is thrown where it is awaited, not reported as unhandled before that.
  started.catch(() => undefined);
  const end: typeof finish = async (...args) => {
    await started;
    return finish(...args);
  };
  const allowed = await checkStillAllowed(deps, request);
  if (!allowed.ok) return end(deps, request, 'refused', allowed.reason);

  const lock = await locks.acquireAll(request.environment, lockedBy(request), id, policy.guards.lockLease);
  if (!lock.ok) {
    const holder = await requests.get(lock.holder);
    const who = holder ? ` (\`${commandText(holder)}\` by <@${holder.requester}>)` : '';
    await end(deps, request, 'refused', `another change holds the lock: request \`${lock.holder}\`${who}`);
    return 'locked';
  }

  // Another run has the job now (this worker stalled past the stall time): asked before each
  // change and before the verdict, so a stalled run neither applies nor reports beside it.
  // A Redis that cannot say (in a third of the stall time) leaves the run its job, as before.
  const lost = async () => retry.owned !== undefined && !(await retry.owned().catch(() => true));
  let keepLock = false;
  try {
    await guardCooldowns(deps, request);
    await guardSwitchTargets(deps, request);
    await guardPromotions(deps, request);
    await started;
    await showProgress(deps, request);
    const outcome: string[] = [];
    const unhealthy: string[] = [];
    for (const step of request.plan) {
      if (await lost()) throw new JobLost();
      // Each step renews the lease: a long change keeps its services however many steps it has.
      const held = await locks.acquireAll(
        request.environment,
        lockedBy(request),
        id,
        policy.guards.lockLease,
      );
      if (!held.ok)
        throw new Refusal('guard', `the lock passed to request \`${held.holder}\` while this one ran`);
      const applied = await locks.holdWhile(
        request.environment,
        lockedBy(request),
        id,
        policy.guards.lockLease,
        () => showingWhile(deps, request, step, () => applyStep(deps, request, step)),
        {
          lost: (service) =>
            deps.logger.error(
              { request: id, service },
              'the change lock lapsed while a step ran; another change may start beside it',
            ),
          maxHoldMs: stepHoldMs(policy, request.environment, step),
          owned: retry.owned,
        },
      );
      outcome.push(applied.line);
      if (!applied.healthy) unhealthy.push(step.service);
      request = (await requests.update(id, (current) => ({
        next: {
          ...current,
          outcome: [...outcome],
          ...(unhealthy.length ? { unhealthy: [...unhealthy] } : {}),
        },
        value: null,
      })))!.request;
      await showProgress(deps, request);
    }
    if (await lost()) throw new JobLost();
    return await finish(deps, request, 'succeeded');
  } catch (err) {
    if (err instanceof JobLost || (await lost())) {
      // The lock is the request's, which the run that has the job holds now.
      keepLock = true;
      deps.logger.warn({ request: id }, 'another worker took this change over; this run stops');
      return 'skipped';
    }
    if (err instanceof StalePlan) return end(deps, request, 'stale', err.message);
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof KubeError && err.transient && !retry.finalAttempt) {
      keepLock = true;
      deps.logger.warn({ request: id, err: message }, 'transient failure; the job will be retried');
      throw err;
    }
    if (err instanceof Refusal) return end(deps, request, 'refused', message);
    if (err instanceof StepFailed) return end(deps, request, 'failed', message);
    return end(deps, request, 'failed', message);
  } finally {
    if (!keepLock) await locks.releaseAll(request.environment, lockedBy(request), id);
  }
}

/** This run's job went to another worker while this one stalled. */
class JobLost extends Error {}

/**
 * The request as stored is checked again before anything changes: the plan against the
 * policy as it is now, the requester still a requester, and, where approval is required,
 * an approver now who is not the requester.
 */
async function checkStillAllowed(deps: Deps, request: OpsRequest): Promise<Verdict> {
  const plan = checkPlanAgainstPolicy(deps.policy, request);
  if (!plan.ok) return plan;
  if (request.source === 'auto-switch-back') return checkRestoresPreviousLive(deps, request);
  const env = request.environment;
  if (!(await deps.access.check(env, 'request', request.requester)).ok)
    return { ok: false, reason: `<@${request.requester}> may no longer request ${env} changes (policy)` };
  if (!planNeedsApproval(deps.policy, env, request.plan)) return { ok: true };
  const approver = request.approvedBy?.user;
  if (!approver) return { ok: false, reason: 'it was never approved' };
  if (approver === request.requester) return { ok: false, reason: 'the requester approved it themselves' };
  if (!(await deps.access.isApprover(env, approver)))
    return { ok: false, reason: `<@${approver}> is no longer an approver of ${env} (policy)` };
  return { ok: true };
}

/**
 * An automatic switch back runs without approval because it only restores what was live
 * before: every step must be a switch to the colour the Service's release history records
 * as live before the current one, still holding the version it served then.
 */
async function checkRestoresPreviousLive(deps: Deps, request: OpsRequest): Promise<Verdict> {
  const env = request.environment;
  if (!request.args.autoSwitchBack || !request.plan.every((step) => step.kind === 'switch'))
    return { ok: false, reason: 'an automatic switch back may only switch services back' };
  for (const step of request.plan) {
    const workload = workloadOf(deps.policy, env, step.service);
    if (workload.kind !== 'blue-green') return { ok: false, reason: `${step.service} is not blue/green` };
    const live = await deps.kube.activeColour(env, workload);
    // Back already (a retry after the switch was made): nothing left to restore, nothing to check.
    if (live === step.to) continue;
    const images = await colourImages(deps.kube, deps.policy, env, workload);
    const back = previousLive(await deps.kube.releases(env, step.service), live, images[step.to]);
    if (!back.ok || back.colour !== step.to)
      return {
        ok: false,
        reason: `not switching ${step.service} back on its own: ${back.ok ? `${step.to} was not live before ${live}` : back.reason}`,
      };
  }
  return { ok: true };
}

async function guardCooldowns(deps: Deps, request: OpsRequest): Promise<void> {
  const forced =
    request.args.force === true &&
    (request.approvedBy !== undefined ||
      (await deps.access.isApprover(request.environment, request.requester)));
  for (const step of request.plan) {
    if (step.kind !== 'scale') continue;
    const last = await deps.locks.lastScale(request.environment, step.service);
    const verdict = checkCooldown(
      last,
      deps.policy.guards.scaleCooldown,
      deps.now(),
      step.service,
      forced,
      request.args.force === true,
    );
    if (!verdict.ok) throw new Refusal('guard', verdict.reason);
  }
}

/**
 * Every colour a request switches to must be ready before the first Service moves: a
 * switch of several services never stops halfway with traffic split between colours.
 */
async function guardSwitchTargets(deps: Deps, request: OpsRequest): Promise<void> {
  const switches = request.plan.filter((step) => step.kind === 'switch');
  const problems = await Promise.all(
    switches.map(async (step) => {
      const problem = await deps.kube.colourNotReady(request.environment, step.service, step.to);
      return problem ? `${step.service} to ${step.to}: ${problem}` : undefined;
    }),
  );
  const found = problems.filter((p): p is string => p !== undefined);
  if (found.length > 0) throw new Refusal('guard', `not switching anything: ${found.join('; ')}`);
}

/**
 * A deploy is promoted on what the proving environment's history says when it runs, not
 * when it was planned: a version rolled back out of staging while its production deploy
 * waited for approval is not deployed (unless an approver forced it).
 */
async function guardPromotions(deps: Deps, request: OpsRequest): Promise<void> {
  for (const step of request.plan) {
    if (step.kind !== 'deploy' || step.forced) continue;
    const problem = await promotionProblem(
      deps.kube,
      deps.policy,
      request.environment,
      step.service,
      step.toImage,
    );
    if (problem) throw new Refusal('guard', `${problem.why} since this was planned`);
  }
}

/** Applies one pinned step, waits for it to take, checks health; returns the line for the thread. */
async function applyStep(
  deps: Deps,
  request: OpsRequest,
  step: PlanStep,
): Promise<{ line: string; healthy: boolean }> {
  const { kube, policy, timing } = deps;
  const env = request.environment;
  let done: string;
  switch (step.kind) {
    case 'scale': {
      const state = await kube.serviceState(env, workloadOf(policy, env, step.service));
      const live = state.workloads.find((w) => w.name === step.target);
      // A blue/green service switched since the plan: its replicas are another colour's now.
      if (live?.colour && live.colour !== state.activeColour)
        throw new StalePlan(
          `${step.service} serves ${state.activeColour} now, not ${live.colour} as when ${step.target} was planned`,
        );
      if (!live || ![step.from, step.to].includes(live.desired)) {
        throw new StalePlan(
          `${step.target} runs ${live?.desired ?? 'no'} replicas now, not ${step.from} as planned`,
        );
      }
      if (live.desired !== step.to) await kube.scale(env, step.service, step.to, step.target);
      await deps.locks.recordScale(env, step.service, deps.now());
      await kube.waitForScale(env, step.service, step.target, step.to, timing.rolloutDeadlineMs);
      done = `${step.service}: ${step.target} scaled ${step.from} → ${step.to}`;
      break;
    }
    case 'switch': {
      const workload = workloadOf(policy, env, step.service);
      if (workload.kind !== 'blue-green') throw new StalePlan(`${step.service} is no longer blue/green`);
      const active = await kube.activeColour(env, workload);
      if (![step.from, step.to].includes(active)) throw new StalePlan(`${step.service} serves ${active} now`);
      const images = await colourImages(kube, policy, env, workload);
      // The approver approved traffic onto this image: another one there now is another change.
      if (step.toImage !== undefined && images[step.to] !== step.toImage)
        throw new StalePlan(
          `${step.service}'s ${step.to} runs ${versionOf(images[step.to])} now, not ${versionOf(step.toImage)} as planned`,
        );
      const record = switchRecord(request, step, images, deps.now());
      await kube.switchColour(env, step.service, step.to, timing.endpointsDeadlineMs, record);
      await indexRelease(deps, env, step.service, record);
      done = `${step.service}: traffic ${step.from} (${versionOf(images[step.from])}) → ${step.to} (${record.version})`;
      break;
    }
    case 'deploy':
      done = await applyDeploy(deps, request, step);
      // A rolling deploy was checked through its Service already; a blue/green one on the
      // idle colour's pods, before its Service sent them any traffic.
      if (!step.blueGreen) return { line: done, healthy: true };
      break;
    case 'backup':
      return { line: await applyBackup(deps, request), healthy: true };
    case 'restore':
      return { line: await applyRestore(deps, request, step), healthy: true };
    case 'maintenance':
      return { line: await applyMaintenance(deps, request, step), healthy: true };
    case 'rollback': {
      const workload = workloadOf(policy, env, step.service);
      const deployment = await kube.readDeployment(env, workload.namespace, step.deployment);
      const image = releaseImageOf(policy, step.service, deployment);
      if (![step.fromImage, step.toImage].includes(image)) {
        throw new StalePlan(`${step.deployment} runs ${image} now, not ${step.fromImage} as planned`);
      }
      await kube.applyRollback(env, step.service, { ...step, kind: 'revision' });
      // In the history too, as soon as the template is back (a rollout that then misses its
      // deadline still left the version): rolled back out of staging, it no longer counts
      // as released there.
      await recordRelease(
        deps,
        env,
        step.service,
        releaseRecord(request, 'rollback', { image: step.toImage }, { image: step.fromImage }, deps.now()),
      );
      await kube.waitForRollout(env, workload.namespace, step.deployment, timing.rolloutDeadlineMs);
      done = `${step.service}: ${step.deployment} rolled back to revision ${step.toRevision} (${step.toImage})`;
      break;
    }
  }
  const health = await kube.health(env, step.service);
  if (!health.path) return { line: done, healthy: true };
  return health.ok
    ? { line: `${done} · ${health.path} healthy`, healthy: true }
    : { line: `${done} · :warning: ${health.path} unhealthy: ${health.detail}`, healthy: false };
}

const SWITCH_ACTIONS: Record<OpsRequest['source'], ReleaseAction> = {
  command: 'switch',
  alert: 'switch',
  'switch-back': 'switch-back',
  'auto-switch-back': 'auto-switch-back',
};

/** What a switch writes into the Service's release history, in the same patch as the selector. */
function switchRecord(
  request: OpsRequest,
  step: Extract<PlanStep, { kind: 'switch' }>,
  images: Record<Colour, string>,
  now: number,
): ReleaseRecord {
  const action = request.verb === 'rollback' ? 'rollback' : SWITCH_ACTIONS[request.source];
  return releaseRecord(
    request,
    action,
    { image: images[step.to], colour: step.to },
    { image: images[step.from], colour: step.from },
    now,
  );
}

/** An approved maintenance step: the window it makes, moves or cancels. */
async function applyMaintenance(
  deps: Deps,
  request: OpsRequest,
  step: Extract<PlanStep, { kind: 'maintenance' }>,
): Promise<string> {
  const soonest = deps.now() + 1_000;
  const span = formatDuration(step.durationMs);
  switch (step.action ?? 'now') {
    case 'now':
    case 'schedule': {
      // Approved after the start it asked for: it starts now rather than in the past.
      const start = step.action === 'schedule' ? Math.max(step.start ?? soonest, soonest) : soonest;
      const window = await scheduleWindow(deps, {
        id: `m${request.id.slice(1)}`,
        environment: request.environment,
        start,
        durationMs: step.durationMs,
        reason: step.reason,
        requester: request.requester,
      });
      const when = start === soonest ? 'starts now' : `starts ${new Date(start).toISOString()}`;
      return `maintenance ${window.id} ${when} for ${span}: ${step.reason}`;
    }
    case 'move': {
      const moved = await moveWindow(
        deps,
        step.windowId ?? '',
        Math.max(step.start ?? soonest, soonest),
        step.durationMs,
        request.requester,
      );
      if (!moved)
        throw new Refusal('guard', `maintenance ${step.windowId} has started, ended or was cancelled since`);
      return `maintenance ${moved.id} moved to ${new Date(moved.start).toISOString()} for ${span}`;
    }
    case 'cancel': {
      const cancelled = await cancelWindow(deps, step.windowId ?? '', request.requester);
      if (!cancelled)
        throw new Refusal('guard', `maintenance ${step.windowId} has ended or was cancelled already`);
      return `maintenance ${cancelled.id} cancelled`;
    }
  }
}

async function finish(
  deps: Deps,
  request: OpsRequest,
  status: Extract<OpsRequest['status'], 'succeeded' | 'failed' | 'refused' | 'stale'>,
  error?: string,
): Promise<ExecutionResult> {
  const updated = await deps.requests.update(request.id, (current) =>
    FINAL_STATUSES.includes(current.status)
      ? { value: null }
      : {
          next: { ...current, status, finishedAt: deps.now(), ...(error ? { error } : {}) },
          value: null,
        },
  );
  const final = updated?.request ?? request;
  // Recorded by the finish that ended it: a second one (its report failed) adds no other verdict.
  if (updated?.changed) await deps.audit.record(auditOf(final, status, 'bot', error));
  await showProgress(deps, final);
  if (final.messageTs)
    await edit(deps, final, final.messageTs, requestMessage(final, deps.now()), 'request message');
  return status;
}

async function showProgress(deps: Deps, request: OpsRequest, current?: PlanStep): Promise<void> {
  if (request.progressTs)
    await edit(
      deps,
      request,
      request.progressTs,
      progressMessage(request, deps.now(), current),
      'progress message',
    );
}

/**
 * Runs one step, redrawing the progress message every `timing.progressEveryMs` meanwhile (how
 * long it has run, what runs now): a restore or a production deploy takes minutes, and a
 * thread that said "running for 3ms" all along looked stuck. A redraw under way when the
 * step ends is waited for, so it never lands after the step's own.
 */
async function showingWhile<T>(
  deps: Deps,
  request: OpsRequest,
  step: PlanStep,
  work: () => Promise<T>,
): Promise<T> {
  let redrawing = Promise.resolve();
  const timer = setInterval(() => {
    redrawing = redrawing.then(() => showProgress(deps, request, step));
  }, deps.timing.progressEveryMs);
  timer.unref();
  try {
    return await work();
  } finally {
    clearInterval(timer);
    await redrawing;
  }
}

/** The cluster change matters more than its report: a failed edit is logged, and fails nothing. */
async function edit(
  deps: Deps,
  request: OpsRequest,
  ts: string,
  message: SlackMessage,
  what: string,
): Promise<void> {
  try {
    await deps.messenger.update(request.channel, ts, message);
  } catch (err) {
    deps.logger.warn({ request: request.id, err: (err as Error).message }, `could not update the ${what}`);
  }
}
