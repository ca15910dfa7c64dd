import { boundsForScale } from '../../../src/kernel/domain/autoscaler';
import { rollbackable } from '../../../src/kernel/kubernetes/rollback-kind';
import type { V1Deployment, V1Job, V1JobSpec } from '@kubernetes/client-node';
import type { Policy } from '../../../src/config/policy';
import type { Colour, EnvironmentName } from '../../../src/kernel/domain/environment';
import {
  otherColour,
  replicaBounds,
  workloadOf,
  workloadsOf,
  type Workload,
} from '../../../src/kernel/domain/topology';
import {
  appendRelease,
  parseReleases,
  repositoryOf,
  versionOf,
  type ReleaseRecord,
} from '../../../src/kernel/domain/release';
import {
  LABELS,
  type DatabaseJob,
  type DatabaseJobKind,
  type JobManifest,
  type JobOutcome,
} from '../../../src/kernel/domain/database-job';
import { KubeError } from '../../../src/kernel/kubernetes/errors';
import { scaleTargetOf } from '../../../src/kernel/kubernetes/scale-target';
import {
  checkJobManifest,
  databaseJobs,
  isBotJob,
  jobState,
  jobTimeout,
  namespaceOf,
  notTheBots,
} from '../../../src/kernel/kubernetes/jobs';
import { imageContainer } from '../../../src/kernel/kubernetes/set-image';
import type {
  ClusterPort,
  LogLine,
  LogQuery,
  RollbackTarget,
  ScaleResult,
  ServiceState,
  SwitchResult,
  WorkloadState,
} from '../../../src/kernel/kubernetes/port';

/** One ReplicaSet of a deployment: what `kubectl rollout history` lists. */
export interface FakeRevision {
  replicaSet: string;
  revision: number;
  image: string;
}

/** A deployment or statefulset as plain data; tests read and change it directly. */
export interface FakeWorkload {
  kind: 'deployment' | 'statefulset';
  name: string;
  namespace: string;
  labels: Record<string, string>;
  /** spec.replicas */
  replicas: number;
  ready: number;
  available: number;
  updated: number;
  /** The image of `container`, the one a deploy changes. */
  image: string;
  /** The app's container (named after the policy's service, as in the simulated cluster). */
  container: string;
  /** Other containers of the pod template, after `container`; tests add them to test the container choice. */
  sidecars: Array<{ name: string; image: string }>;
  paused: boolean;
  /** The colour of a blue/green deployment. */
  colour?: Colour;
  /** The deployment's ReplicaSets; the current one has the deployment's image. Empty for statefulsets. */
  history: FakeRevision[];
}

export interface FakeHpa {
  name: string;
  /** The deployment it scales. */
  target: string;
  min: number;
  max: number;
}

export interface ClusterCall {
  method: keyof ClusterPort;
  args: unknown[];
}

type Health = { ok: boolean; path: string; detail: string };

/** How a fake Job ends: the log its pod printed, and for a failed one the Job's Failed condition. */
export interface FakeJobOutcome {
  status: 'succeeded' | 'failed';
  log: string;
  /** The Failed condition's reason (default BackoffLimitExceeded) and message. */
  reason?: string;
  message?: string;
}

/** One of the fake's Jobs: the manifest it was created from, the Job as the API would return it, its pod's log. */
export interface FakeJob {
  env: EnvironmentName;
  manifest: JobManifest;
  object: V1Job;
  log: string;
}

/** What the fake's backup Job reports by default, and its restore's verify figure. */
export const FAKE_DUMP_BYTES = 1_048_576;
export const FAKE_VERIFY = '1000';

/** What a GET through the API server's proxy answers: the app's status (0: no answer) and the start of its body. */
export interface ProbeAnswer {
  status: number;
  detail: string;
}

/**
 * An in-memory cluster behind ClusterPort, seeded from the policy: every service of every
 * environment at its minimum replicas, one container named after the service running the
 * policy's image repository (`registry.azora.example/<app>` where the policy has none) at
 * tag 1.0.0, revision 1; blue/green services serving blue with both colours ready, health
 * paths answering, no release history.
 *
 * What it models, as the adapter does: the live colour's deployment is the scale target;
 * an HPA's bounds move to take the requested replicas; a switch goes only to a ready
 * colour; a rollback goes to a pinned ReplicaSet (the second newest by default) and is a
 * no-op when the deployment runs it already; a new image is a new revision and (unless a
 * test holds rollouts) a finished rollout; the container a deploy changes is chosen by the
 * adapter's own rule (set-image.ts); release history is the annotation's JSON, written and
 * read with the adapter's codec. Probes answer as the simulated app does: the health path
 * 200 (or 503 when set unhealthy), `/version` 200, anything else 404, unless a test sets an
 * answer. What it does not model: time. A change settles at once, and a wait on a workload
 * that has not settled (a test left it so) fails at once with the adapter's timeout error.
 * Every call through the port is recorded in `calls`; `failNext` makes the next call of a
 * method throw.
 *
 * Database Jobs are kept as the API server would hand them back (creationTimestamp from the
 * `now` option) and checked with the adapter's own rules (src/kernel/kubernetes/jobs.ts). A
 * new Job ends at once as its kind's outcome says: by default the scripts' success lines
 * (`azora-backup: ok file=/backups/<id>.sql bytes=FAKE_DUMP_BYTES`; `azora-restore: ok …`
 * and `azora-verify: FAKE_VERIFY`); `jobOutcome` changes that. While `holdJobs` is on, new
 * Jobs keep running: waitForJob then fails at once with the adapter's timeout, until
 * `finishJob` ends them.
 */
export class FakeCluster implements ClusterPort {
  readonly calls: ClusterCall[] = [];
  private readonly workloads = new Map<string, FakeWorkload>();
  private readonly hpas = new Map<string, FakeHpa>();
  private readonly active = new Map<string, Colour>();
  private readonly healthOf = new Map<string, Omit<Health, 'path'>>();
  private readonly logLines = new Map<string, LogLine[]>();
  private readonly failures = new Map<keyof ClusterPort, Error[]>();
  /** Raw release annotation values by `env/service`. */
  private readonly releaseValues = new Map<string, string>();
  private readonly held = new Set<string>();
  private readonly endpointsHeld = new Set<string>();
  private readonly podAnswers = new Map<string, ProbeAnswer | ((pod: string) => ProbeAnswer)>();
  private readonly serviceAnswers = new Map<string, ProbeAnswer>();
  private readonly jobMap = new Map<string, FakeJob>();
  private readonly outcomes = new Map<DatabaseJobKind, (manifest: JobManifest) => FakeJobOutcome>();
  private jobsHeld = false;
  private jobCounter = 0;
  private readonly now: () => number;

  constructor(
    private readonly policy: Policy,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
    for (const env of Object.keys(policy.environments) as EnvironmentName[]) {
      for (const workload of workloadsOf(policy, env)) this.seed(env, workload);
    }
  }

  // ---- the test's side: state and failures ----

  /** The named deployment or statefulset, live: changes to it are the cluster's. */
  workload(env: EnvironmentName, name: string): FakeWorkload {
    const found = this.workloads.get(`${env}/${name}`);
    if (!found) throw new Error(`the fake cluster has no workload ${name} in ${env}`);
    return found;
  }

  /** Sets the replicas, all ready and available: a settled workload. */
  setReplicas(env: EnvironmentName, name: string, replicas: number): void {
    settle(this.workload(env, name), replicas);
  }

  /** A finished rollout of a new image: a new ReplicaSet at the next revision. */
  rollout(env: EnvironmentName, deployment: string, image: string): FakeRevision {
    const w = this.workload(env, deployment);
    const revision: FakeRevision = {
      replicaSet: `${deployment}-${w.history.length + 1}`,
      revision: nextRevision(w),
      image,
    };
    w.history.push(revision);
    w.image = image;
    return revision;
  }

  addHpa(env: EnvironmentName, hpa: FakeHpa): void {
    this.hpas.set(`${env}/${hpa.target}`, { ...hpa });
  }

  hpa(env: EnvironmentName, target: string): FakeHpa | undefined {
    return this.hpas.get(`${env}/${target}`);
  }

  /** The colour a blue/green service's Service selects. */
  activeOf(env: EnvironmentName, service: string): Colour | undefined {
    return this.active.get(`${env}/${service}`);
  }

  setActive(env: EnvironmentName, service: string, colour: Colour): void {
    this.active.set(`${env}/${service}`, colour);
  }

  setHealth(env: EnvironmentName, service: string, health: { ok: boolean; detail: string }): void {
    this.healthOf.set(`${env}/${service}`, health);
  }

  setLogs(env: EnvironmentName, service: string, lines: LogLine[]): void {
    this.logLines.set(`${env}/${service}`, lines);
  }

  /**
   * While held, a new image set on `deployment` starts a rollout that does not finish: no
   * replica updated, so waitForRollout fails as the adapter's does on a stuck rollout.
   */
  holdRollouts(env: EnvironmentName, deployment: string, held = true): void {
    if (held) this.held.add(`${env}/${deployment}`);
    else this.held.delete(`${env}/${deployment}`);
  }

  /** The rollout of `deployment` finishes: every replica updated, ready and available. */
  finishRollout(env: EnvironmentName, deployment: string): void {
    const w = this.workload(env, deployment);
    settle(w, w.replicas);
  }

  /** What GET `path` answers on the pods of `deployment` (one answer, or one per pod name). */
  answerPods(
    env: EnvironmentName,
    deployment: string,
    path: string,
    answer: ProbeAnswer | ((pod: string) => ProbeAnswer),
  ): void {
    this.podAnswers.set(`${env}/${deployment} ${path}`, answer);
  }

  /** What GET `path` answers through the service's Service. */
  answerService(env: EnvironmentName, service: string, path: string, answer: ProbeAnswer): void {
    this.serviceAnswers.set(`${env}/${service} ${path}`, answer);
  }

  /** The release annotation's raw value on the service's object, as `kubectl get -o yaml` shows it. */
  releaseAnnotation(env: EnvironmentName, service: string): string | undefined {
    return this.releaseValues.get(`${env}/${service}`);
  }

  /** Sets that raw value (anything: the annotation is outside text), or removes it. */
  setReleaseAnnotation(env: EnvironmentName, service: string, value: string | undefined): void {
    if (value === undefined) this.releaseValues.delete(`${env}/${service}`);
    else this.releaseValues.set(`${env}/${service}`, value);
  }

  /** The next `times` calls of `method` throw `error` (before they read or change anything). */
  failNext(method: keyof ClusterPort, error: Error, times = 1): void {
    const queued = this.failures.get(method) ?? [];
    for (let i = 0; i < times; i++) queued.push(error);
    this.failures.set(method, queued);
  }

  /** The Jobs of an environment, oldest first (live: changes to them are the cluster's). */
  jobs(env: EnvironmentName): FakeJob[] {
    return [...this.jobMap.values()].filter((j) => j.env === env);
  }

  job(env: EnvironmentName, name: string): FakeJob {
    const found = this.jobMap.get(`${env}/${name}`);
    if (!found) throw new Error(`the fake cluster has no job ${name} in ${env}`);
    return found;
  }

  /** How Jobs of `kind` created from now on end (one outcome, or one per manifest). */
  jobOutcome(
    kind: DatabaseJobKind,
    outcome: FakeJobOutcome | ((manifest: JobManifest) => FakeJobOutcome),
  ): void {
    this.outcomes.set(kind, typeof outcome === 'function' ? outcome : () => ({ ...outcome }));
  }

  /** While held, new Jobs keep running (waitForJob times out at once) until `finishJob`. */
  holdJobs(held = true): void {
    this.jobsHeld = held;
  }

  /** A running Job ends now, as `outcome` says (default: its kind's outcome). */
  finishJob(env: EnvironmentName, name: string, outcome?: FakeJobOutcome): void {
    const job = this.job(env, name);
    this.settleJob(job, outcome ?? this.outcomeOf(job.manifest));
  }

  /** A Job that exists before the test acts (an earlier backup): ended as `outcome` says, or still running. */
  addJob(
    env: EnvironmentName,
    manifest: JobManifest,
    options: { createdAt?: number; outcome?: FakeJobOutcome | 'running' } = {},
  ): FakeJob {
    const job = this.newJob(env, manifest, options.createdAt ?? this.now());
    if (options.outcome !== 'running') this.settleJob(job, options.outcome ?? this.outcomeOf(manifest));
    return job;
  }

  callsOf(method: keyof ClusterPort): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  /** The calls that change the cluster, in order. */
  changes(): ClusterCall[] {
    return this.calls.filter((c) =>
      [
        'scale',
        'switchColour',
        'applyRollback',
        'setImage',
        'scaleDeployment',
        'recordRelease',
        'createJob',
        'deleteJob',
      ].includes(c.method),
    );
  }

  // ---- ClusterPort ----

  async reachable(): Promise<void> {
    this.record('reachable', []);
  }

  async status(env: EnvironmentName): Promise<ServiceState[]> {
    this.record('status', [env]);
    return workloadsOf(this.policy, env).map((w) => this.stateOf(env, w));
  }

  async serviceState(env: EnvironmentName, workload: Workload): Promise<ServiceState> {
    this.record('serviceState', [env, workload]);
    return this.stateOf(env, workload);
  }

  async readDeployment(env: EnvironmentName, namespace: string, name: string): Promise<V1Deployment> {
    this.record('readDeployment', [env, namespace, name]);
    return this.deploymentObject(env, namespace, name);
  }

  async activeColour(
    env: EnvironmentName,
    workload: Extract<Workload, { kind: 'blue-green' }>,
  ): Promise<Colour> {
    this.record('activeColour', [env, workload]);
    return this.colourOf(env, workload);
  }

  async scale(
    env: EnvironmentName,
    service: string,
    replicas: number,
    pinned?: string,
  ): Promise<ScaleResult> {
    this.record('scale', [env, service, replicas]);
    const workload = workloadOf(this.policy, env, service);
    const target = scaleTargetOf(env, service, this.scaleTarget(env, workload), pinned);
    const w = this.workload(env, target);
    const before = w.replicas;
    const hpa = w.kind === 'deployment' ? this.hpa(env, w.name) : undefined;
    if (!hpa) {
      settle(w, replicas);
      return { target: w.name, kind: w.kind, before, after: replicas };
    }
    const { min, max } = hpa;
    const bounds = boundsForScale({ min, max }, before, replicas);
    hpa.min = bounds.min;
    hpa.max = bounds.max;
    // The HPA acts on its new bounds, which leave it the requested number.
    settle(w, replicas);
    return {
      target: w.name,
      kind: 'deployment',
      before,
      after: replicas,
      hpa: { name: hpa.name, before: { min, max }, after: bounds },
    };
  }

  async colourNotReady(env: EnvironmentName, service: string, colour: Colour): Promise<string | undefined> {
    this.record('colourNotReady', [env, service, colour]);
    return this.notReady(env, service, colour);
  }

  async switchColour(
    env: EnvironmentName,
    service: string,
    to: Colour,
    endpointsDeadlineMs?: number,
    release?: ReleaseRecord,
  ): Promise<SwitchResult> {
    this.record('switchColour', [env, service, to, endpointsDeadlineMs, ...(release ? [release] : [])]);
    // One patch on the real Service: the selector and the history change together or not at all.
    const switched = await this.doSwitch(env, service, to, release);
    if (this.endpointsHeld.has(`${env}/${service}`)) {
      const name = workloadOf(this.policy, env, service);
      throw new KubeError(
        'deadline',
        `service ${name.kind === 'blue-green' ? name.serviceName : service} selects ${to} but its endpoints did not follow within ${Math.round((endpointsDeadlineMs ?? 0) / 1000)}s`,
      );
    }
    return switched;
  }

  /**
   * While held, a switch of `service` patches its selector (and history) and then fails
   * as the adapter does when the endpoints do not follow within their deadline.
   */
  holdEndpoints(env: EnvironmentName, service: string, held = true): void {
    if (held) this.endpointsHeld.add(`${env}/${service}`);
    else this.endpointsHeld.delete(`${env}/${service}`);
  }

  async planRollback(env: EnvironmentName, service: string, toRevision?: number): Promise<RollbackTarget> {
    this.record('planRollback', [env, service, toRevision]);
    const workload = rollbackable(env, workloadOf(this.policy, env, service), toRevision);
    if (workload.kind === 'blue-green') {
      const from = this.colourOf(env, workload);
      return { kind: 'colour', serviceName: workload.serviceName, from, to: otherColour(from) };
    }
    const w = this.workload(env, workload.deployment);
    assertNotPaused(w);
    const newestFirst = [...w.history].sort((a, b) => b.revision - a.revision);
    let target: FakeRevision | undefined;
    if (toRevision !== undefined) {
      target = newestFirst.find((r) => r.revision === toRevision);
      if (!target) {
        const known = newestFirst.map((r) => r.revision).join(', ') || 'none';
        throw new KubeError(
          'precondition',
          `deployment ${w.name} has no revision ${toRevision} (revisions: ${known})`,
        );
      }
    } else {
      target = newestFirst[1];
      if (!target)
        throw new KubeError('precondition', `deployment ${w.name} has no earlier revision to roll back to`);
    }
    return {
      kind: 'revision',
      deployment: w.name,
      replicaSet: target.replicaSet,
      fromRevision: revisionOf(w),
      toRevision: target.revision,
      fromImage: w.image,
      toImage: target.image,
    };
  }

  async applyRollback(
    env: EnvironmentName,
    service: string,
    target: RollbackTarget,
  ): Promise<{ changed: boolean }> {
    this.record('applyRollback', [env, service, target]);
    if (target.kind === 'colour') return { changed: this.doSwitch(env, service, target.to).changed };
    const w = this.workload(env, target.deployment);
    assertNotPaused(w);
    const rs = w.history.find((r) => r.replicaSet === target.replicaSet);
    if (!rs) throw new KubeError('not-found', `reading replicaset ${target.replicaSet}: not found`);
    if (rs.image === w.image) return { changed: false };
    // As kubectl rollout undo: the old ReplicaSet comes back as the newest revision.
    rs.revision = nextRevision(w);
    w.image = rs.image;
    return { changed: true };
  }

  async waitForRollout(
    env: EnvironmentName,
    namespace: string,
    name: string,
    deadlineMs: number,
  ): Promise<V1Deployment> {
    this.record('waitForRollout', [env, namespace, name, deadlineMs]);
    const deployment = this.deploymentObject(env, namespace, name);
    const problem = rolloutProblem(this.workload(env, name));
    if (problem) {
      throw new KubeError(
        'deadline',
        `rollout of ${name} did not finish within ${Math.round(deadlineMs / 1000)}s: ${problem}`,
      );
    }
    return deployment;
  }

  async waitForScale(
    env: EnvironmentName,
    service: string,
    target: string,
    replicas: number,
    deadlineMs: number,
  ): Promise<void> {
    this.record('waitForScale', [env, service, target, replicas, deadlineMs]);
    const state = this.stateOf(env, workloadOf(this.policy, env, service));
    const live = state.workloads.find((w) => w.name === target);
    if (live && live.desired === replicas && live.ready === replicas && live.updated >= replicas) return;
    throw new KubeError(
      'deadline',
      `${target} did not reach ${replicas} ready replicas within ${Math.round(deadlineMs / 1000)}s ` +
        `(desired ${live?.desired ?? '?'}, ready ${live?.ready ?? '?'})`,
    );
  }

  async podsOf(env: EnvironmentName, service: string): Promise<{ namespace: string; pods: string[] }> {
    this.record('podsOf', [env, service]);
    return this.pods(env, service);
  }

  /** The lines set with `setLogs`, grep applied, the last `query.lines` of them (`sinceMs` is not modelled). */
  async logs(
    env: EnvironmentName,
    service: string,
    query: LogQuery,
  ): Promise<{ pods: string[]; lines: LogLine[]; unreadable: string[] }> {
    this.record('logs', [env, service, query]);
    const { pods } = this.pods(env, service);
    return { pods, lines: this.linesOf(env, service, query.grep).slice(-query.lines), unreadable: [] };
  }

  /** Hands every line set with `setLogs` (grep applied) to `onLine`, then ends. */
  async followLogs(
    env: EnvironmentName,
    service: string,
    options: { durationMs: number; grep?: string; signal?: AbortSignal },
    onLine: (line: LogLine) => void,
  ): Promise<{ pods: string[]; unreadable: string[] }> {
    this.record('followLogs', [env, service, options]);
    const { pods } = this.pods(env, service);
    for (const line of this.linesOf(env, service, options.grep)) {
      if (options.signal?.aborted) break;
      onLine(line);
    }
    return { pods, unreadable: [] };
  }

  async setImage(
    env: EnvironmentName,
    service: string,
    deployment: string,
    image: string,
  ): Promise<{ container: string; changed: boolean }> {
    this.record('setImage', [env, service, deployment, image]);
    const w = this.ownDeployment(env, service, deployment);
    const policy = this.policy.services[service]!;
    if (policy.image && repositoryOf(image) !== policy.image) {
      throw new KubeError(
        'precondition',
        `not setting ${image} on ${deployment}: ${service} takes images from ${policy.image} only (services.${service}.image)`,
      );
    }
    const chosen = imageContainer(this.deploymentObject(env, w.namespace, w.name), service, policy);
    if (chosen.image === image) return { container: chosen.name, changed: false };
    const sidecar = w.sidecars.find((c) => c.name === chosen.name);
    if (sidecar) {
      // A new template all the same: the next revision, with the app's image unchanged.
      sidecar.image = image;
      this.rollout(env, deployment, w.image);
    } else {
      this.rollout(env, deployment, image);
    }
    if (this.held.has(`${env}/${deployment}`)) w.updated = 0;
    else settle(w, w.replicas);
    return { container: chosen.name, changed: true };
  }

  async scaleDeployment(
    env: EnvironmentName,
    service: string,
    deployment: string,
    replicas: number,
  ): Promise<void> {
    this.record('scaleDeployment', [env, service, deployment, replicas]);
    const w = this.ownDeployment(env, service, deployment);
    const hpa = this.hpa(env, deployment);
    if (!hpa) {
      if (w.replicas !== replicas) settle(w, replicas);
      return;
    }
    hpa.min = replicas;
    hpa.max = Math.max(hpa.max, replicas);
    // The adapter sets replicas below the new minimum itself; the HPA keeps the rest inside its bounds.
    settle(w, w.replicas < replicas ? replicas : Math.min(w.replicas, hpa.max));
  }

  /** Each ready pod of `deployment` (named `<deployment>-<i>`), answering as `answerPods` set or as the simulated app. */
  async probePods(
    env: EnvironmentName,
    service: string,
    deployment: string,
    path: string,
  ): Promise<Array<{ pod: string; status: number; detail: string }>> {
    this.record('probePods', [env, service, deployment, path]);
    const w = this.ownDeployment(env, service, deployment);
    const pods = podNames(w);
    if (pods.length === 0) {
      throw new KubeError('not-found', `${deployment} in ${env} has no pods (selector ${selectorOf(w)})`);
    }
    const set = this.podAnswers.get(`${env}/${deployment} ${path}`);
    return pods.map((pod) => ({
      pod,
      ...(set ? (typeof set === 'function' ? set(pod) : set) : this.appAnswer(service, w, path, pod)),
    }));
  }

  async probeService(env: EnvironmentName, service: string, path: string): Promise<ProbeAnswer> {
    this.record('probeService', [env, service, path]);
    const workload = workloadOf(this.policy, env, service);
    if (workload.kind === 'statefulset')
      throw new KubeError(
        'precondition',
        `${service} in ${env} is a statefulset: the bot probes no Service of it`,
      );
    const set = this.serviceAnswers.get(`${env}/${service} ${path}`);
    if (set) return { ...set };
    const w = this.workload(env, this.scaleTarget(env, workload));
    const pod = podNames(w)[0];
    if (!pod) return { status: 503, detail: `no endpoints available for service "${workload.app}"` };
    const health = this.healthOf.get(`${env}/${service}`);
    if (path === this.policy.services[service]?.health && health && !health.ok)
      return { status: 503, detail: health.detail.slice(0, 200) };
    return this.appAnswer(service, w, path, pod);
  }

  async releases(env: EnvironmentName, service: string): Promise<ReleaseRecord[]> {
    this.record('releases', [env, service]);
    this.releaseHolder(env, service);
    return parseReleases(this.releaseValues.get(`${env}/${service}`));
  }

  async recordRelease(env: EnvironmentName, service: string, record: ReleaseRecord): Promise<void> {
    this.record('recordRelease', [env, service, record]);
    this.writeRelease(env, service, record);
  }

  async health(env: EnvironmentName, service: string): Promise<Health> {
    this.record('health', [env, service]);
    const workload = workloadOf(this.policy, env, service);
    const path = this.policy.services[service]?.health;
    if (!path || workload.kind === 'statefulset')
      return { ok: true, path: '', detail: 'no health path in the policy' };
    return { path, ...(this.healthOf.get(`${env}/${service}`) ?? { ok: true, detail: 'ok' }) };
  }

  async createJob(env: EnvironmentName, manifest: JobManifest): Promise<{ created: boolean }> {
    this.record('createJob', [env, manifest]);
    const namespace = checkJobManifest(this.policy, env, manifest);
    const existing = this.jobMap.get(`${env}/${manifest.metadata.name}`);
    if (existing) {
      if (!isBotJob(existing.object)) throw notTheBots(manifest.metadata.name, namespace, 'not creating it');
      return { created: false };
    }
    const job = this.newJob(env, manifest, this.now());
    if (!this.jobsHeld) this.settleJob(job, this.outcomeOf(manifest));
    return { created: true };
  }

  async waitForJob(env: EnvironmentName, name: string, deadlineMs: number): Promise<JobOutcome> {
    this.record('waitForJob', [env, name, deadlineMs]);
    const job = this.readJob(env, name);
    const { status, ...state } = jobState(job.object);
    if (status === 'running') throw jobTimeout(name, deadlineMs);
    return { status, ...state, log: job.log };
  }

  async listJobs(env: EnvironmentName, kind: DatabaseJobKind): Promise<DatabaseJob[]> {
    this.record('listJobs', [env, kind]);
    namespaceOf(this.policy, env);
    return databaseJobs(
      this.jobs(env)
        .map((j) => j.object)
        .filter(
          (o) => o.metadata?.labels?.[LABELS.kind] === kind && o.metadata.labels[LABELS.environment] === env,
        ),
    );
  }

  async deleteJob(env: EnvironmentName, name: string): Promise<void> {
    this.record('deleteJob', [env, name]);
    const namespace = namespaceOf(this.policy, env);
    const job = this.jobMap.get(`${env}/${name}`);
    if (!job) return;
    if (!isBotJob(job.object)) throw notTheBots(name, namespace, 'not deleting it');
    this.jobMap.delete(`${env}/${name}`);
  }

  // ---- inside ----

  private readJob(env: EnvironmentName, name: string): FakeJob {
    const namespace = namespaceOf(this.policy, env);
    const job = this.jobMap.get(`${env}/${name}`);
    if (!job) {
      throw new KubeError(
        'not-found',
        `reading job ${name} in ${namespace}: not found (jobs.batch "${name}" not found)`,
        404,
      );
    }
    return job;
  }

  private newJob(env: EnvironmentName, manifest: JobManifest, createdAt: number): FakeJob {
    const { name, namespace, labels } = manifest.metadata;
    this.jobCounter += 1;
    const job: FakeJob = {
      env,
      manifest: structuredClone(manifest),
      object: {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {
          name,
          namespace,
          labels: { ...labels },
          uid: `fake-job-${this.jobCounter}`,
          creationTimestamp: new Date(createdAt),
        },
        spec: structuredClone(manifest.spec) as unknown as V1JobSpec,
        status: { startTime: new Date(createdAt), active: 1 },
      },
      log: '',
    };
    this.jobMap.set(`${env}/${name}`, job);
    return job;
  }

  private settleJob(job: FakeJob, outcome: FakeJobOutcome): void {
    const end = new Date(this.now());
    const startTime = job.object.status?.startTime ?? end;
    job.log = outcome.log;
    job.object.status =
      outcome.status === 'succeeded'
        ? {
            startTime,
            completionTime: end,
            succeeded: 1,
            conditions: [
              {
                type: 'Complete',
                status: 'True',
                reason: 'CompletionsReached',
                message: 'Reached expected number of succeeded pods',
                lastTransitionTime: end,
              },
            ],
          }
        : {
            startTime,
            failed: 1,
            conditions: [
              {
                type: 'Failed',
                status: 'True',
                reason: outcome.reason ?? 'BackoffLimitExceeded',
                message: outcome.message ?? 'Job has reached the specified backoff limit',
                lastTransitionTime: end,
              },
            ],
          };
  }

  /** The outcome set for the manifest's kind, else what the shipped scripts print on success. */
  private outcomeOf(manifest: JobManifest): FakeJobOutcome {
    const kind = manifest.metadata.labels[LABELS.kind];
    const set = kind === 'backup' || kind === 'restore' ? this.outcomes.get(kind) : undefined;
    if (set) return set(manifest);
    const file = `/backups/${manifest.metadata.labels[LABELS.backup] ?? ''}.sql`;
    if (kind === 'backup')
      return { status: 'succeeded', log: `azora-backup: ok file=${file} bytes=${FAKE_DUMP_BYTES}\n` };
    if (kind === 'restore') {
      return { status: 'succeeded', log: `azora-restore: ok file=${file}\nazora-verify: ${FAKE_VERIFY}\n` };
    }
    return { status: 'succeeded', log: '' };
  }

  private record(method: keyof ClusterPort, args: unknown[]): void {
    this.calls.push({ method, args: structuredClone(args) });
    const failure = this.failures.get(method)?.shift();
    if (failure) throw failure;
  }

  /** The workload named `deployment`, which must be one of the service's deployments (as the adapter checks). */
  private ownDeployment(env: EnvironmentName, service: string, deployment: string): FakeWorkload {
    const workload = workloadOf(this.policy, env, service);
    const own =
      workload.kind === 'deployment'
        ? [workload.deployment]
        : workload.kind === 'blue-green'
          ? [workload.deployments.blue, workload.deployments.green]
          : [];
    if (!own.includes(deployment)) {
      throw new KubeError(
        'precondition',
        `${deployment} is not a deployment of ${service} in ${env} (${own.join(', ') || 'it has none'})`,
      );
    }
    return this.workload(env, deployment);
  }

  /** The statefulset refusal of the adapter's release history. */
  private releaseHolder(env: EnvironmentName, service: string): void {
    if (workloadOf(this.policy, env, service).kind === 'statefulset') {
      throw new KubeError(
        'precondition',
        `${service} in ${env} is a statefulset: the bot keeps release history only for deployments`,
      );
    }
  }

  private writeRelease(env: EnvironmentName, service: string, record: ReleaseRecord): void {
    this.releaseHolder(env, service);
    const key = `${env}/${service}`;
    const value = appendRelease(
      parseReleases(this.releaseValues.get(key)),
      record,
      this.policy.releases.history,
    );
    this.releaseValues.set(key, value);
  }

  /** The simulated app's answer: its health path 200, `/version` 200 JSON, anything else 404. */
  private appAnswer(service: string, w: FakeWorkload, path: string, pod: string): ProbeAnswer {
    if (path === '/version')
      return { status: 200, detail: JSON.stringify({ service, version: versionOf(w.image) }) };
    if (path === this.policy.services[service]?.health)
      return { status: 200, detail: JSON.stringify({ status: 'ok', service, pod }).slice(0, 200) };
    return { status: 404, detail: `Cannot GET ${path}` };
  }

  private seed(env: EnvironmentName, workload: Workload): void {
    const { namespace, app } = workload;
    const replicas = replicaBounds(this.policy, env, workload.service).min;
    const repository = this.policy.services[workload.service]?.image ?? `registry.azora.example/${app}`;
    const image = `${repository}:1.0.0`;
    const add = (kind: FakeWorkload['kind'], name: string, colour?: Colour) => {
      const w: FakeWorkload = {
        kind,
        name,
        namespace,
        labels: { app, ...(colour ? { version: colour } : {}) },
        replicas,
        ready: replicas,
        available: replicas,
        updated: replicas,
        image,
        container: workload.service,
        sidecars: [],
        paused: false,
        ...(colour ? { colour } : {}),
        history: kind === 'deployment' ? [{ replicaSet: `${name}-1`, revision: 1, image }] : [],
      };
      this.workloads.set(`${env}/${name}`, w);
    };
    if (workload.kind === 'statefulset') add('statefulset', workload.statefulset);
    else if (workload.kind === 'deployment') add('deployment', workload.deployment);
    else {
      add('deployment', workload.deployments.blue, 'blue');
      add('deployment', workload.deployments.green, 'green');
      this.setActive(env, workload.service, 'blue');
    }
  }

  private colourOf(env: EnvironmentName, workload: Extract<Workload, { kind: 'blue-green' }>): Colour {
    const colour = this.activeOf(env, workload.service);
    if (!colour) {
      throw new KubeError(
        'precondition',
        `service ${workload.serviceName} selects version '(none)', not blue or green`,
      );
    }
    return colour;
  }

  private scaleTarget(env: EnvironmentName, workload: Workload): string {
    if (workload.kind === 'deployment') return workload.deployment;
    if (workload.kind === 'statefulset') return workload.statefulset;
    return workload.deployments[this.colourOf(env, workload)];
  }

  private stateOf(env: EnvironmentName, workload: Workload): ServiceState {
    if (workload.kind === 'statefulset') {
      const w = this.workload(env, workload.statefulset);
      return {
        service: workload.service,
        kind: workload.kind,
        workloads: [
          {
            kind: 'statefulset',
            name: w.name,
            desired: w.replicas,
            ready: w.ready,
            available: w.available,
            updated: w.updated,
            // The fake keeps no pods of older revisions.
            total: w.replicas,
            image: w.image,
            paused: false,
          },
        ],
      };
    }
    if (workload.kind === 'deployment') {
      return {
        service: workload.service,
        kind: workload.kind,
        workloads: [this.deploymentState(env, workload.deployment)],
      };
    }
    return {
      service: workload.service,
      kind: workload.kind,
      activeColour: this.colourOf(env, workload),
      workloads: [
        this.deploymentState(env, workload.deployments.blue),
        this.deploymentState(env, workload.deployments.green),
      ],
    };
  }

  private deploymentState(env: EnvironmentName, name: string): WorkloadState {
    const w = this.workload(env, name);
    const hpa = this.hpa(env, name);
    return {
      kind: 'deployment',
      name,
      desired: w.replicas,
      ready: w.ready,
      available: w.available,
      updated: w.updated,
      total: w.replicas,
      revision: revisionOf(w) || undefined,
      image: w.image,
      paused: w.paused,
      ...(w.colour ? { colour: w.colour } : {}),
      ...(hpa ? { hpa: { name: hpa.name, min: hpa.min, max: hpa.max } } : {}),
    };
  }

  private deploymentObject(env: EnvironmentName, namespace: string, name: string): V1Deployment {
    const w = this.workloads.get(`${env}/${name}`);
    if (!w || w.kind !== 'deployment' || w.namespace !== namespace) {
      throw new KubeError('not-found', `reading deployment ${name} in ${namespace}: not found`);
    }
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name,
        namespace,
        generation: 1,
        annotations: { 'deployment.kubernetes.io/revision': String(revisionOf(w)) },
      },
      spec: {
        replicas: w.replicas,
        paused: w.paused,
        selector: { matchLabels: { ...w.labels } },
        template: {
          metadata: { labels: { ...w.labels } },
          spec: { containers: [{ name: w.container, image: w.image }, ...w.sidecars.map((c) => ({ ...c }))] },
        },
      },
      status: {
        observedGeneration: 1,
        replicas: w.replicas,
        updatedReplicas: w.updated,
        readyReplicas: w.ready,
        availableReplicas: w.available,
      },
    };
  }

  private notReady(env: EnvironmentName, service: string, colour: Colour): string | undefined {
    const workload = workloadOf(this.policy, env, service);
    if (workload.kind !== 'blue-green') return `${service} in ${env} is not a blue/green service`;
    const w = this.workload(env, workload.deployments[colour]);
    if (w.replicas === 0) return `${w.name} has 0 replicas`;
    if (w.available < w.replicas) return `${w.name} has ${w.available} of ${w.replicas} replicas available`;
    return rolloutProblem(w);
  }

  private doSwitch(env: EnvironmentName, service: string, to: Colour, release?: ReleaseRecord): SwitchResult {
    const workload = workloadOf(this.policy, env, service);
    if (workload.kind !== 'blue-green') {
      throw new KubeError('precondition', `${service} in ${env} is not a blue/green service`);
    }
    const from = this.colourOf(env, workload);
    const notReady = this.notReady(env, service, to);
    if (notReady) throw new KubeError('precondition', `not switching ${service} to ${to}: ${notReady}`);
    if (release) this.writeRelease(env, service, release);
    this.setActive(env, service, to);
    const endpoints = this.workload(env, workload.deployments[to]).ready;
    return { serviceName: workload.serviceName, from, to, changed: from !== to, endpoints };
  }

  private pods(env: EnvironmentName, service: string): { namespace: string; pods: string[] } {
    const workload = workloadOf(this.policy, env, service);
    const w = this.workload(env, this.scaleTarget(env, workload));
    const pods = podNames(w);
    if (pods.length === 0) {
      throw new KubeError('not-found', `${service} in ${env} has no pods (selector ${selectorOf(w)})`);
    }
    return { namespace: workload.namespace, pods };
  }

  private linesOf(env: EnvironmentName, service: string, grep?: string): LogLine[] {
    const lines = this.logLines.get(`${env}/${service}`) ?? [];
    return grep ? lines.filter((l) => l.text.toLowerCase().includes(grep.toLowerCase())) : [...lines];
  }
}

/** The pods of a workload: one per ready replica. */
const podNames = (w: FakeWorkload): string[] =>
  Array.from({ length: w.ready }, (_, i) => `${w.name}-${i}`).sort();

const selectorOf = (w: FakeWorkload): string =>
  Object.entries(w.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

function settle(w: FakeWorkload, replicas: number): void {
  w.replicas = replicas;
  w.ready = replicas;
  w.available = replicas;
  w.updated = replicas;
}

/** The revision of the ReplicaSet running the deployment's image; 0 when none does. */
function revisionOf(w: FakeWorkload): number {
  return Math.max(0, ...w.history.filter((r) => r.image === w.image).map((r) => r.revision));
}

function nextRevision(w: FakeWorkload): number {
  return Math.max(0, ...w.history.map((r) => r.revision)) + 1;
}

function assertNotPaused(w: FakeWorkload): void {
  if (w.paused) {
    throw new KubeError(
      'precondition',
      `deployment ${w.name} is paused; resume it (kubectl rollout resume deployment/${w.name}) before rolling back`,
    );
  }
}

function rolloutProblem(w: FakeWorkload): string | undefined {
  if (w.updated < w.replicas) return `${w.updated} of ${w.replicas} new replicas updated`;
  if (w.available < w.updated) return `${w.available} of ${w.updated} updated replicas available`;
  return undefined;
}
