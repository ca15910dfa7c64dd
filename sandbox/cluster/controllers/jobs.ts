import { isJobPod, JOBS, jobPhase } from '../jobs';
import type { RecordedLogs } from '../logs';
import { isPodReady, isPodTerminal, podPhase, terminatedStatus } from '../pods';
import type { Postgres, ScriptRun } from '../postgres';
import { isoSeconds, num, rec, str, stringMap, type JsonRecord, type KubeObject } from '../types';
import { PODS, sameJson, type ControllerContext } from './context';
import type { PodController } from './pods';

export interface JobOptions {
  /** How long (cluster clock) a Job pod's container runs before it exits; 0: at once. */
  runMs: number;
  /** What the containers run: the backup and restore scripts against the simulated PostgreSQL. */
  scripts: Pick<Postgres, 'start'>;
  logs: RecordedLogs;
  /** A run or a deadline is due: the coordinator reconciles again. */
  onTimer: () => void;
}

interface Run {
  startedAt: number;
  due: number;
  script: ScriptRun;
}

/** Pods of a Job counted as succeeded or failed (the real controller tracks them with a finalizer). */
interface Tally {
  succeeded: Set<string>;
  failed: Set<string>;
}

/**
 * The Job controller and the kubelet's part for run-to-completion pods. The controller
 * keeps `parallelism` pods running until `completions` succeeded (a failed pod is replaced
 * until `backoffLimit` is used up), fails the Job at `activeDeadlineSeconds` on the cluster
 * clock (deleting its running pods) and writes the status as a 1.32 controller does. The
 * kubelet part starts a Running pod's script, and `runMs` later ends the container with the
 * script's exit code and keeps what it printed as the pod's log.
 */
export class JobController {
  private readonly runs = new Map<string, Run>();
  private readonly tallies = new Map<string, Tally>();
  /** When each Job started, by uid, in ms (status.startTime has whole seconds only). */
  private readonly started = new Map<string, number>();
  private readonly timers = new Map<string, { due: number; timer: NodeJS.Timeout }>();
  private stopped = false;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly pods: PodController,
    private readonly options: JobOptions,
  ) {}

  /** Whether a container runs or a deadline is pending: something the clock will change. */
  get busy(): boolean {
    return this.runs.size > 0 || this.timers.size > 0;
  }

  stop(): void {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  reconcile(): void {
    this.runContainers();
    for (const job of this.ctx.store.scan(JOBS)) this.reconcileOne(job);
    this.forgetGone();
  }

  // The kubelet: scripts start when their pod runs, and end when their time has come.

  private runContainers(): void {
    const now = this.ctx.now();
    for (const pod of this.ctx.store.scan(PODS)) {
      if (!isJobPod(pod) || isPodTerminal(pod) || podPhase(pod) !== 'Running') continue;
      const uid = pod.metadata.uid;
      let run = this.runs.get(uid);
      if (!run) {
        const script = this.options.scripts.start(pod);
        // A script that ended as it started (a check failed) exits at once.
        run = { startedAt: now, due: script.exit ? now : now + this.options.runMs, script };
        this.runs.set(uid, run);
        this.options.logs.append(uid, now, script.start);
      }
      if (now < run.due) {
        this.wakeAt(`pod/${uid}`, run.due);
        continue;
      }
      this.runs.delete(uid);
      this.clearTimer(`pod/${uid}`);
      const { exitCode, lines } = run.script.finish();
      this.options.logs.append(uid, now, lines);
      this.ctx.write(PODS, { ...pod, status: terminatedStatus(pod, exitCode, run.startedAt, now) });
    }
  }

  // The Job controller.

  private reconcileOne(job: KubeObject): void {
    const { ctx } = this;
    const uid = job.metadata.uid;
    if (jobPhase(job) !== 'running') {
      this.clearTimer(`job/${uid}`);
      return;
    }
    const spec = rec(job.spec);
    if (spec.suspend === true) return;
    const now = ctx.now();
    const status = rec(job.status);
    const startTime = str(status.startTime);
    const startedAt = this.started.get(uid) ?? (startTime ? Date.parse(startTime) : now);
    this.started.set(uid, startedAt);

    const tally = this.tallyOf(uid);
    const count = (pods: KubeObject[]): KubeObject[] => {
      for (const pod of pods) {
        const phase = podPhase(pod);
        if (phase === 'Succeeded') tally.succeeded.add(pod.metadata.uid);
        if (phase === 'Failed') tally.failed.add(pod.metadata.uid);
      }
      return pods.filter((p) => !isPodTerminal(p));
    };
    let active = count(this.pods.podsOf(job));

    const completions = num(spec.completions) ?? 1;
    const parallelism = num(spec.parallelism) ?? 1;
    const backoffLimit = num(spec.backoffLimit) ?? 6;
    const deadline = num(spec.activeDeadlineSeconds);
    const deadlineAt = deadline !== undefined ? startedAt + deadline * 1000 : undefined;

    let failure: { reason: string; message: string } | undefined;
    const complete = tally.succeeded.size >= completions;
    if (!complete && tally.failed.size > backoffLimit) {
      failure = { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
    } else if (!complete && deadlineAt !== undefined && now >= deadlineAt) {
      failure = { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
    }

    if (complete || failure) {
      // What still runs is stopped: its pods are deleted (a finished Job keeps the exited ones).
      for (const pod of active) {
        this.runs.delete(pod.metadata.uid);
        this.clearTimer(`pod/${pod.metadata.uid}`);
        this.pods.delete(pod);
      }
      active = [];
      this.clearTimer(`job/${uid}`);
    } else {
      const missing = Math.min(parallelism, completions - tally.succeeded.size) - active.length;
      const template = rec(spec.template);
      for (let i = 0; i < missing; i++) {
        this.pods.create(
          job,
          template,
          this.pods.uniqueName(job),
          stringMap(rec(template.metadata).labels),
          now,
          {
            generateName: `${job.metadata.name}-`,
          },
        );
      }
      if (missing > 0) active = count(this.pods.podsOf(job));
      if (deadlineAt !== undefined) this.wakeAt(`job/${uid}`, deadlineAt);
    }

    const time = isoSeconds(now);
    const condition = (type: string, reason: string, message: string): JsonRecord => ({
      type,
      status: 'True',
      lastProbeTime: time,
      lastTransitionTime: time,
      reason,
      message,
    });
    const reached = 'Reached expected number of succeeded pods';
    const conditions = complete
      ? [
          condition('SuccessCriteriaMet', 'CompletionsReached', reached),
          condition('Complete', 'CompletionsReached', reached),
        ]
      : failure
        ? [
            condition('FailureTarget', failure.reason, failure.message),
            condition('Failed', failure.reason, failure.message),
          ]
        : undefined;
    const next: JsonRecord = {
      ...(conditions ? { conditions } : {}),
      startTime: startTime ?? isoSeconds(startedAt),
      ...(complete ? { completionTime: time } : {}),
      ...(active.length > 0 ? { active: active.length } : {}),
      ...(tally.succeeded.size > 0 ? { succeeded: tally.succeeded.size } : {}),
      ...(tally.failed.size > 0 ? { failed: tally.failed.size } : {}),
      terminating: 0,
      uncountedTerminatedPods: {},
      ready: active.filter(isPodReady).length,
    };
    if (!sameJson(job.status, next)) ctx.setStatus(JOBS, job, next);
  }

  private tallyOf(uid: string): Tally {
    let tally = this.tallies.get(uid);
    if (!tally) {
      tally = { succeeded: new Set(), failed: new Set() };
      this.tallies.set(uid, tally);
    }
    return tally;
  }

  /** Drops what belongs to Jobs and pods that are gone. */
  private forgetGone(): void {
    const { store } = this.ctx;
    const jobs = new Set(store.scan(JOBS).map((j) => j.metadata.uid));
    for (const uid of [...this.tallies.keys(), ...this.started.keys()]) {
      if (jobs.has(uid)) continue;
      this.tallies.delete(uid);
      this.started.delete(uid);
      this.clearTimer(`job/${uid}`);
    }
    if (this.runs.size === 0 && this.options.logs.size === 0) return;
    const pods = new Set(store.scan(PODS).map((p) => p.metadata.uid));
    for (const uid of this.runs.keys()) {
      if (pods.has(uid)) continue;
      this.runs.delete(uid);
      this.clearTimer(`pod/${uid}`);
    }
    this.options.logs.retain(pods);
  }

  /** A reconcile once the cluster clock reaches `due` (checked again then: a test's clock may not have moved). */
  private wakeAt(key: string, due: number): void {
    if (this.stopped || this.timers.get(key)?.due === due) return;
    this.clearTimer(key);
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        this.options.onTimer();
      },
      Math.max(20, due - this.ctx.now() + 1),
    );
    timer.unref();
    this.timers.set(key, { due, timer });
  }

  private clearTimer(key: string): void {
    const entry = this.timers.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.timers.delete(key);
  }
}
