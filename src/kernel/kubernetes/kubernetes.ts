import { rollbackable } from './rollback-kind';
import { systemClock, type Clock } from '../clock';
import type {
  V1Deployment,
  V1HorizontalPodAutoscaler,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { Policy } from '../../config/policy';
import type { Colour, EnvironmentName } from '../domain/environment';
import {
  appendRelease,
  parseReleases,
  releaseImage,
  RELEASES_ANNOTATION,
  type ReleaseRecord,
} from '../domain/release';
import type { RevisionTarget } from '../domain/revision';
import { otherColour, workloadOf, workloadsOf, type Workload } from '../domain/topology';
import { callOptions, type ClusterClients } from './clients';
import { onceMoreIfCut } from './connections';
import { KubeError } from './errors';
import { boundsForScale } from '../domain/autoscaler';
import { scaleTargetOf } from './scale-target';
import type { ClusterPort } from './port';
import { toKubeError } from './translate-error';
import { followPods, parseLogLines, mergeLogs, readablePods, type LogLine, type LogQuery } from './logs';
import { tailWindow } from '../domain/log-window';
import { DeployOps, onConflictRetry } from './deploy-ops';
import { JobOps } from './jobs';
import type { DatabaseJobKind, JobManifest } from '../domain/database-job';
import {
  assertNotPaused,
  chooseRollbackReplicaSet,
  imagesOf,
  ownedReplicaSets,
  revisionOf,
  rollbackPatch,
  sameTemplate,
} from './rollout-undo';

/** What one log read takes from one pod at most, whatever the line window. */
export const LOG_BYTES_PER_POD = 512 * 1024;
export interface WorkloadState {
  kind: 'deployment' | 'statefulset';
  name: string;
  desired: number;
  ready: number;
  available: number;
  updated: number;
  /** Pods of every revision (status.replicas): more than desired while old ones still run. */
  total: number;
  revision?: number;
  image: string;
  paused: boolean;
  colour?: Colour;
  hpa?: { name: string; min: number; max: number };
}

export interface ServiceState {
  service: string;
  kind: Workload['kind'];
  /** Blue/green: the colour the Service sends traffic to. */
  activeColour?: Colour;
  workloads: WorkloadState[];
  /** Why the service could not be read (its workloads are then empty). */
  problem?: string;
}

export interface ScaleResult {
  target: string;
  kind: 'deployment' | 'statefulset';
  before: number;
  after: number;
  /** With an HPA the bounds move, and the HPA then sets the replicas. */
  hpa?: { name: string; before: { min: number; max: number }; after: { min: number; max: number } };
}

/** A rollback target fixed before anything changes, so a retried job cannot roll back twice. */
export type RollbackTarget =
  ({ kind: 'revision' } & RevisionTarget) | { kind: 'colour'; serviceName: string; from: Colour; to: Colour };

export interface SwitchResult {
  serviceName: string;
  from: Colour;
  to: Colour;
  changed: boolean;
  endpoints: number;
}

export interface KubernetesOptions {
  /** Deadlines of waits read this clock. */
  clock?: Clock;
  requestTimeoutMs?: number;
  /** How often a wait re-reads the cluster. */
  pollMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Every cluster operation the bot performs, over @kubernetes/client-node. Each method
 * takes policy names (environment, service) and does what kubectl would do.
 */
export class Kubernetes implements ClusterPort {
  private readonly timeoutMs: number;
  private readonly pollMs: number;

  private readonly clock: Clock;
  /** Set image, one colour's replicas, probes, release history (deploy-ops.ts). */
  private readonly deploy: DeployOps;
  /** The database Jobs: backups and restores (jobs.ts). */
  private readonly jobs: JobOps;

  constructor(
    private readonly policy: Policy,
    private readonly clusters: Record<EnvironmentName, ClusterClients>,
    options: KubernetesOptions = {},
  ) {
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.pollMs = options.pollMs ?? 250;
    this.clock = options.clock ?? systemClock;
    this.deploy = new DeployOps({
      policy,
      timeoutMs: this.timeoutMs,
      clients: (env) => this.clusters[env],
      call: (what, fn) => this.call(what, fn),
      patchOptions: (kind) => this.patchOptions(kind),
      readDeployment: (env, namespace, name) => this.readDeployment(env, namespace, name),
      readService: (env, workload) => this.readService(env, workload),
      hpasByTarget: (env, namespace) => this.hpasByTarget(env, namespace),
      deploymentsOf: (env, service) => this.deploymentsOf(env, service),
    });
    this.jobs = new JobOps({
      policy,
      clock: this.clock,
      pollMs: this.pollMs,
      clients: (env) => this.clusters[env],
      call: (what, fn) => this.call(what, fn),
    });
  }

  clients(env: EnvironmentName): ClusterClients {
    return this.clusters[env];
  }

  /**
   * Each environment's API server answers: for the worker's readiness. `/version` needs
   * no RBAC rule (every identity may read it), so this checks the connection and the
   * credentials, not the bot's permissions.
   */
  async reachable(): Promise<void> {
    await Promise.all(
      (Object.keys(this.clusters) as EnvironmentName[]).map((env) =>
        this.call(`the ${env} cluster's API`, (options) => this.clusters[env].version.getCode(options)),
      ),
    );
  }

  /** Runs one API call with the request deadline, mapping failures to KubeError. */
  private async call<T>(
    what: string,
    fn: (options: ReturnType<typeof callOptions>) => Promise<T>,
  ): Promise<T> {
    try {
      return await onceMoreIfCut(() => fn(callOptions(this.timeoutMs)));
    } catch (err) {
      throw toKubeError(err, what);
    }
  }

  private patchOptions(kind: 'merge' | 'strategic' | 'json') {
    return callOptions(this.timeoutMs, kind);
  }

  /**
   * Every service of the environment. One whose own state is wrong (a deployment deleted,
   * a Service selecting no colour) is shown with why, the others as they are. What is
   * wrong for all of them (the API away, the bot not allowed to read) fails the whole.
   */
  async status(env: EnvironmentName): Promise<ServiceState[]> {
    const workloads = workloadsOf(this.policy, env);
    const settled = await Promise.allSettled(workloads.map((w) => this.serviceState(env, w)));
    return settled.map((s, i) => {
      if (s.status === 'fulfilled') return s.value;
      const { service, kind } = workloads[i]!;
      const err = toKubeError(s.reason, `reading ${service}`);
      if (!SERVICE_PROBLEMS.has(err.kind)) throw err;
      return { service, kind, workloads: [], problem: err.message };
    });
  }

  async serviceState(env: EnvironmentName, workload: Workload): Promise<ServiceState> {
    const { apps } = this.clusters[env];
    const { namespace } = workload;
    if (workload.kind === 'statefulset') {
      const sts = await this.call(`reading statefulset ${workload.statefulset}`, (o) =>
        apps.readNamespacedStatefulSet({ name: workload.statefulset, namespace }, o),
      );
      return {
        service: workload.service,
        kind: workload.kind,
        workloads: [
          {
            kind: 'statefulset',
            name: workload.statefulset,
            desired: sts.spec?.replicas ?? 0,
            ready: sts.status?.readyReplicas ?? 0,
            available: sts.status?.availableReplicas ?? 0,
            updated: sts.status?.updatedReplicas ?? 0,
            total: sts.status?.replicas ?? 0,
            image: imagesOf(sts.spec?.template),
            paused: false,
          },
        ],
      };
    }
    const hpas = await this.hpasByTarget(env, namespace);
    if (workload.kind === 'deployment') {
      const deployment = await this.readDeployment(env, namespace, workload.deployment);
      return {
        service: workload.service,
        kind: workload.kind,
        workloads: [deploymentState(deployment, hpas)],
      };
    }
    const [activeColour, blue, green] = await Promise.all([
      this.activeColour(env, workload),
      this.readDeployment(env, namespace, workload.deployments.blue),
      this.readDeployment(env, namespace, workload.deployments.green),
    ]);
    return {
      service: workload.service,
      kind: workload.kind,
      activeColour,
      workloads: [
        { ...deploymentState(blue, hpas), colour: 'blue' },
        { ...deploymentState(green, hpas), colour: 'green' },
      ],
    };
  }

  async readDeployment(env: EnvironmentName, namespace: string, name: string): Promise<V1Deployment> {
    return this.call(`reading deployment ${name} in ${namespace}`, (o) =>
      this.clusters[env].apps.readNamespacedDeployment({ name, namespace }, o),
    );
  }

  private async hpasByTarget(
    env: EnvironmentName,
    namespace: string,
  ): Promise<Map<string, V2HorizontalPodAutoscaler>> {
    const list = await this.call(`listing autoscalers in ${namespace}`, (o) =>
      this.clusters[env].autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace }, o),
    );
    return new Map(
      list.items
        .filter((h) => h.spec?.scaleTargetRef.kind === 'Deployment')
        .map((h) => [h.spec!.scaleTargetRef.name, h]),
    );
  }

  async activeColour(
    env: EnvironmentName,
    workload: Extract<Workload, { kind: 'blue-green' }>,
  ): Promise<Colour> {
    const service = await this.readService(env, workload);
    const version = service.spec?.selector?.version;
    if (version !== 'blue' && version !== 'green') {
      throw new KubeError(
        'precondition',
        `service ${workload.serviceName} selects version '${version ?? '(none)'}', not blue or green`,
      );
    }
    return version;
  }

  private readService(env: EnvironmentName, workload: Extract<Workload, { kind: 'blue-green' }>) {
    return this.call(`reading service ${workload.serviceName}`, (o) =>
      this.clusters[env].core.readNamespacedService(
        { name: workload.serviceName, namespace: workload.namespace },
        o,
      ),
    );
  }

  /** The deployment a replica change applies to: for blue/green, the live colour's. */
  private async scaleTarget(env: EnvironmentName, workload: Workload): Promise<string> {
    if (workload.kind === 'deployment') return workload.deployment;
    if (workload.kind === 'statefulset') return workload.statefulset;
    return workload.deployments[await this.activeColour(env, workload)];
  }

  async scale(
    env: EnvironmentName,
    service: string,
    replicas: number,
    pinned?: string,
  ): Promise<ScaleResult> {
    const workload = workloadOf(this.policy, env, service);
    const { apps, autoscaling } = this.clusters[env];
    const { namespace } = workload;
    const target = scaleTargetOf(env, service, await this.scaleTarget(env, workload), pinned);
    const body = { spec: { replicas } };

    if (workload.kind === 'statefulset') {
      const before = await this.call(`reading statefulset ${target}`, (o) =>
        apps.readNamespacedStatefulSetScale({ name: target, namespace }, o),
      );
      await this.call(`scaling statefulset ${target}`, () =>
        apps.patchNamespacedStatefulSetScale({ name: target, namespace, body }, this.patchOptions('merge')),
      );
      return { target, kind: 'statefulset', before: before.spec?.replicas ?? 0, after: replicas };
    }

    const deployment = await this.readDeployment(env, namespace, target);
    const before = deployment.spec?.replicas ?? 0;
    const hpa = (await this.hpasByTarget(env, namespace)).get(target);
    if (!hpa) {
      await this.call(`scaling deployment ${target}`, () =>
        apps.patchNamespacedDeploymentScale({ name: target, namespace, body }, this.patchOptions('merge')),
      );
      return { target, kind: 'deployment', before, after: replicas };
    }
    // The HPA owns the replica count; move its bounds so it settles on the requested number.
    const min = hpa.spec?.minReplicas ?? 1;
    const max = hpa.spec?.maxReplicas ?? min;
    const bounds = boundsForScale({ min, max }, before, replicas);
    const name = hpa.metadata!.name!;
    await this.call(`adjusting autoscaler ${name}`, () =>
      autoscaling.patchNamespacedHorizontalPodAutoscaler(
        { name, namespace, body: { spec: { minReplicas: bounds.min, maxReplicas: bounds.max } } },
        this.patchOptions('merge'),
      ),
    );
    return {
      target,
      kind: 'deployment',
      before,
      after: replicas,
      hpa: { name, before: { min, max }, after: bounds },
    };
  }

  /** Why `colour` of a blue/green service cannot take traffic now; undefined when it can. */
  async colourNotReady(env: EnvironmentName, service: string, colour: Colour): Promise<string | undefined> {
    const workload = workloadOf(this.policy, env, service);
    if (workload.kind !== 'blue-green') return `${service} in ${env} is not a blue/green service`;
    return readinessProblem(await this.readDeployment(env, workload.namespace, workload.deployments[colour]));
  }

  /**
   * Blue/green switch: only to a colour whose deployment is fully rolled out and
   * available, then the Service selector moves and the endpoints are watched until they
   * follow. With `release`, the record joins the Service's release history in the same
   * patch as the selector (one change, guarded by the resourceVersion it was read at).
   */
  async switchColour(
    env: EnvironmentName,
    service: string,
    to: Colour,
    endpointsDeadlineMs = 30_000,
    release?: ReleaseRecord,
  ): Promise<SwitchResult> {
    const workload = workloadOf(this.policy, env, service);
    if (workload.kind !== 'blue-green') {
      throw new KubeError('precondition', `${service} in ${env} is not a blue/green service`);
    }
    const { namespace, serviceName } = workload;
    const from = await this.activeColour(env, workload);
    const notReady = await this.colourNotReady(env, service, to);
    if (notReady) throw new KubeError('precondition', `not switching ${service} to ${to}: ${notReady}`);

    const what = `switching service ${serviceName} to ${to}`;
    let changed = from !== to;
    if (release) {
      changed = await onConflictRetry(async () => {
        const live = await this.readService(env, workload);
        const old = live.metadata?.annotations?.[RELEASES_ANNOTATION];
        const history = appendRelease(parseReleases(old), release, this.policy.releases.history);
        const moves = live.spec?.selector?.version !== to;
        if (!moves && history === old) return false;
        const body = {
          metadata: {
            resourceVersion: live.metadata?.resourceVersion,
            annotations: { [RELEASES_ANNOTATION]: history },
          },
          spec: { selector: { version: to } },
        };
        await this.call(what, () =>
          this.clusters[env].core.patchNamespacedService(
            { name: serviceName, namespace, body },
            this.patchOptions('strategic'),
          ),
        );
        return moves;
      });
    } else if (changed) {
      await this.call(what, () =>
        this.clusters[env].core.patchNamespacedService(
          { name: serviceName, namespace, body: { spec: { selector: { version: to } } } },
          this.patchOptions('strategic'),
        ),
      );
    }
    const endpoints = await this.waitForEndpoints(env, namespace, serviceName, to, endpointsDeadlineMs);
    return { serviceName, from, to, changed, endpoints };
  }

  /** Waits until every endpoint address of the Service is a pod of `colour`. */
  private async waitForEndpoints(
    env: EnvironmentName,
    namespace: string,
    name: string,
    colour: Colour,
    deadlineMs: number,
  ): Promise<number> {
    const { core } = this.clusters[env];
    const deadline = this.clock.now() + deadlineMs;
    for (;;) {
      const [endpoints, pods] = await Promise.all([
        this.call(`reading endpoints ${name}`, (o) => core.readNamespacedEndpoints({ name, namespace }, o)),
        this.call(`listing ${colour} pods`, (o) =>
          core.listNamespacedPod({ namespace, labelSelector: `app=${name},version=${colour}` }, o),
        ),
      ]);
      const colourPods = new Set(pods.items.map((p) => p.metadata?.name));
      const addresses = (endpoints.subsets ?? []).flatMap((s) => s.addresses ?? []);
      if (addresses.length > 0 && addresses.every((a) => colourPods.has(a.targetRef?.name)))
        return addresses.length;
      if (this.clock.now() > deadline) {
        throw new KubeError(
          'deadline',
          `service ${name} selects ${colour} but its endpoints did not follow within ${Math.round(deadlineMs / 1000)}s`,
        );
      }
      await sleep(this.pollMs);
    }
  }

  /** Fixes what a rollback will go back to, from the live cluster, before any approval or change. */
  async planRollback(env: EnvironmentName, service: string, toRevision?: number): Promise<RollbackTarget> {
    const workload = rollbackable(env, workloadOf(this.policy, env, service), toRevision);
    if (workload.kind === 'blue-green') {
      const from = await this.activeColour(env, workload);
      return { kind: 'colour', serviceName: workload.serviceName, from, to: otherColour(from) };
    }
    const { namespace, deployment: name } = workload;
    const deployment = await this.readDeployment(env, namespace, name);
    const owned = ownedReplicaSets(deployment, await this.replicaSets(env, deployment));
    const target = chooseRollbackReplicaSet(deployment, owned, toRevision);
    const current = owned.find((rs) => sameTemplate(rs.spec?.template, deployment.spec?.template));
    const svc = this.policy.services[service];
    // As kubectl skips it ("current template already matches revision N"): nothing to undo,
    // and recorded as a rollback it would mark the running version rolled back.
    if (sameTemplate(target.spec?.template, deployment.spec?.template))
      throw new KubeError(
        'precondition',
        `deployment ${name} already runs revision ${revisionOf(target)}; nothing to roll back to`,
      );
    return {
      kind: 'revision',
      deployment: name,
      replicaSet: target.metadata!.name!,
      fromRevision: current ? revisionOf(current) : revisionOf(deployment),
      toRevision: revisionOf(target),
      // The release container's images (a sidecar's would read as the version otherwise).
      fromImage: releaseImage(deployment.spec?.template?.spec?.containers ?? [], svc),
      toImage: releaseImage(target.spec?.template?.spec?.containers ?? [], svc),
    };
  }

  /**
   * Applies a pinned rollback. Idempotent: when the deployment already runs the pinned
   * template (a retried job after a crash), nothing is sent and `changed` is false.
   */
  async applyRollback(
    env: EnvironmentName,
    service: string,
    target: RollbackTarget,
  ): Promise<{ changed: boolean }> {
    if (target.kind === 'colour') {
      const result = await this.switchColour(env, service, target.to);
      return { changed: result.changed };
    }
    const { namespace } = workloadOf(this.policy, env, service);
    const deployment = await this.readDeployment(env, namespace, target.deployment);
    assertNotPaused(deployment);
    const replicaSet = await this.call(`reading replicaset ${target.replicaSet}`, (o) =>
      this.clusters[env].apps.readNamespacedReplicaSet({ name: target.replicaSet, namespace }, o),
    );
    if (sameTemplate(replicaSet.spec?.template, deployment.spec?.template)) return { changed: false };
    await this.call(`rolling back deployment ${target.deployment}`, () =>
      this.clusters[env].apps.patchNamespacedDeployment(
        { name: target.deployment, namespace, body: rollbackPatch(deployment, replicaSet) },
        this.patchOptions('json'),
      ),
    );
    return { changed: true };
  }

  private async replicaSets(env: EnvironmentName, deployment: V1Deployment) {
    const namespace = deployment.metadata!.namespace!;
    const labels = deployment.spec?.selector.matchLabels ?? {};
    const labelSelector = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const list = await this.call(`listing replicasets of ${deployment.metadata?.name}`, (o) =>
      this.clusters[env].apps.listNamespacedReplicaSet({ namespace, labelSelector }, o),
    );
    return list.items;
  }

  /** `kubectl rollout status`: waits until the deployment's newest template is fully rolled out. */
  async waitForRollout(
    env: EnvironmentName,
    namespace: string,
    name: string,
    deadlineMs: number,
  ): Promise<V1Deployment> {
    const deadline = this.clock.now() + deadlineMs;
    for (;;) {
      const deployment = await this.readDeployment(env, namespace, name);
      const problem = rolloutProblem(deployment);
      if (!problem) return deployment;
      if (this.clock.now() > deadline) {
        throw new KubeError(
          'deadline',
          `rollout of ${name} did not finish within ${Math.round(deadlineMs / 1000)}s: ${problem}`,
        );
      }
      await sleep(this.pollMs);
    }
  }

  /** Waits until the scaled workload runs `replicas` ready replicas (an HPA first has to act on its new bounds). */
  async waitForScale(
    env: EnvironmentName,
    service: string,
    target: string,
    replicas: number,
    deadlineMs: number,
  ): Promise<void> {
    const workload = workloadOf(this.policy, env, service);
    const deadline = this.clock.now() + deadlineMs;
    for (;;) {
      const state = await this.serviceState(env, workload);
      const live = state.workloads.find((w) => w.name === target);
      if (live && live.desired === replicas && live.ready === replicas && live.updated >= replicas) return;
      if (this.clock.now() > deadline) {
        throw new KubeError(
          'deadline',
          `${target} did not reach ${replicas} ready replicas within ${Math.round(deadlineMs / 1000)}s ` +
            `(desired ${live?.desired ?? '?'}, ready ${live?.ready ?? '?'})`,
        );
      }
      await sleep(this.pollMs);
    }
  }

  /** The pods that serve `service` now: for blue/green, the live colour's. */
  async podsOf(env: EnvironmentName, service: string): Promise<{ namespace: string; pods: string[] }> {
    const workload = workloadOf(this.policy, env, service);
    const { apps, core } = this.clusters[env];
    const { namespace } = workload;
    const selector =
      workload.kind === 'statefulset'
        ? (
            await this.call(`reading statefulset ${workload.statefulset}`, (o) =>
              apps.readNamespacedStatefulSet({ name: workload.statefulset, namespace }, o),
            )
          ).spec?.selector.matchLabels
        : (await this.readDeployment(env, namespace, await this.scaleTarget(env, workload))).spec?.selector
            .matchLabels;
    const labelSelector = Object.entries(selector ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const list = await this.call(`listing pods of ${service}`, (o) =>
      core.listNamespacedPod({ namespace, labelSelector }, o),
    );
    const pods = list.items.map((p) => p.metadata!.name!).sort();
    if (pods.length === 0)
      throw new KubeError('not-found', `${service} in ${env} has no pods (selector ${labelSelector})`);
    return { namespace, pods };
  }

  /** The last lines across the service's pods, merged in time order, secrets redacted (at most LOG_BYTES_PER_POD a pod). */
  async logs(
    env: EnvironmentName,
    service: string,
    query: LogQuery,
  ): Promise<{ pods: string[]; lines: LogLine[]; unreadable: string[] }> {
    const { namespace, pods } = await this.podsOf(env, service);
    const sinceSeconds = query.sinceMs ? Math.max(1, Math.round(query.sinceMs / 1000)) : undefined;
    const perPod = await readablePods(
      pods,
      async (pod) => {
        const raw = await this.call(`reading logs of ${pod}`, (o) =>
          this.clusters[env].core.readNamespacedPodLog(
            {
              name: pod,
              namespace,
              timestamps: true,
              tailLines: tailWindow(query),
              // A grep widens the window to thousands of lines: bytes are capped too.
              limitBytes: LOG_BYTES_PER_POD,
              ...(sinceSeconds ? { sinceSeconds } : {}),
            },
            o,
          ),
        );
        return parseLogLines(pod, raw);
      },
      (err, pod) => toKubeError(err, `reading logs of ${pod}`),
    );
    return {
      pods,
      lines: mergeLogs(
        perPod.read.map((r) => r.value),
        query,
      ),
      unreadable: perPod.unreadable.map((u) => u.why),
    };
  }

  /** New lines of the service's pods for `durationMs`, as they come. */
  async followLogs(
    env: EnvironmentName,
    service: string,
    options: { durationMs: number; grep?: string; signal?: AbortSignal },
    onLine: (line: LogLine) => void,
  ): Promise<{ pods: string[]; unreadable: string[] }> {
    const { namespace, pods } = await this.podsOf(env, service);
    // New lines only: from now, as the pods' kubelets stamp them.
    const since = new Date(this.clock.now()).toISOString();
    try {
      return await followPods(
        this.clusters[env].config,
        namespace,
        {
          first: pods,
          now: async () => (await this.podsOf(env, service)).pods,
          everyMs: FOLLOW_RELIST_MS,
        },
        { ...options, since },
        onLine,
        (err, pod) => toKubeError(err, `following logs of ${pod}`),
      );
    } catch (err) {
      throw toKubeError(err, `following logs of ${service}`);
    }
  }

  /** GETs the service's health path through the API server's service proxy. */
  async health(
    env: EnvironmentName,
    service: string,
  ): Promise<{ ok: boolean; path: string; detail: string }> {
    const workload = workloadOf(this.policy, env, service);
    const policyService = this.policy.services[service]!;
    const path = policyService.health;
    if (!path || workload.kind === 'statefulset')
      return { ok: true, path: '', detail: 'no health path in the policy' };
    const serviceName = workload.kind === 'blue-green' ? workload.serviceName : workload.deployment;
    try {
      const body = await onceMoreIfCut(() =>
        this.clusters[env].core.connectGetNamespacedServiceProxyWithPath(
          {
            name: `${serviceName}:${policyService.port}`,
            namespace: workload.namespace,
            path: path.replace(/^\//, ''),
          },
          callOptions(this.timeoutMs),
        ),
      );
      // client-node hands a JSON answer over parsed: as text again, not "[object Object]".
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      return { ok: true, path, detail: (text ?? '').slice(0, 200) };
    } catch (err) {
      const failure = toKubeError(err, `checking ${path} of ${serviceName}`);
      return { ok: false, path, detail: failure.message };
    }
  }

  setImage(env: EnvironmentName, service: string, deployment: string, image: string) {
    return this.deploy.setImage(env, service, deployment, image);
  }

  scaleDeployment(env: EnvironmentName, service: string, deployment: string, replicas: number) {
    return this.deploy.scaleDeployment(env, service, deployment, replicas);
  }

  probePods(env: EnvironmentName, service: string, deployment: string, path: string) {
    return this.deploy.probePods(env, service, deployment, path);
  }

  probeService(env: EnvironmentName, service: string, path: string) {
    return this.deploy.probeService(env, service, path);
  }

  releases(env: EnvironmentName, service: string) {
    return this.deploy.releases(env, service);
  }

  recordRelease(env: EnvironmentName, service: string, record: ReleaseRecord) {
    return this.deploy.recordRelease(env, service, record);
  }

  createJob(env: EnvironmentName, manifest: JobManifest) {
    return this.jobs.createJob(env, manifest);
  }

  waitForJob(env: EnvironmentName, name: string, deadlineMs: number) {
    return this.jobs.waitForJob(env, name, deadlineMs);
  }

  listJobs(env: EnvironmentName, kind: DatabaseJobKind) {
    return this.jobs.listJobs(env, kind);
  }

  deleteJob(env: EnvironmentName, name: string) {
    return this.jobs.deleteJob(env, name);
  }

  /** The names of the deployments a change to `service` touches, for rollout waits. */
  deploymentsOf(env: EnvironmentName, service: string): string[] {
    const workload = workloadOf(this.policy, env, service);
    if (workload.kind === 'deployment') return [workload.deployment];
    if (workload.kind === 'blue-green') return [workload.deployments.blue, workload.deployments.green];
    return [];
  }
}

function deploymentState(
  deployment: V1Deployment,
  hpas: Map<string, V2HorizontalPodAutoscaler | V1HorizontalPodAutoscaler>,
): WorkloadState {
  const name = deployment.metadata?.name ?? '?';
  const hpa = hpas.get(name);
  return {
    kind: 'deployment',
    name,
    desired: deployment.spec?.replicas ?? 0,
    ready: deployment.status?.readyReplicas ?? 0,
    available: deployment.status?.availableReplicas ?? 0,
    updated: deployment.status?.updatedReplicas ?? 0,
    total: deployment.status?.replicas ?? 0,
    revision: revisionOf(deployment) || undefined,
    image: imagesOf(deployment.spec?.template),
    paused: deployment.spec?.paused === true,
    ...(hpa
      ? { hpa: { name: hpa.metadata!.name!, min: hpa.spec!.minReplicas ?? 1, max: hpa.spec!.maxReplicas } }
      : {}),
  };
}

/** How often a follow looks for pods that came up since it started (a rollout, a restart). */
const FOLLOW_RELIST_MS = 3_000;

/** Failures that are about one service's own objects, not about the API or the bot's rights. */
const SERVICE_PROBLEMS = new Set<KubeError['kind']>(['not-found', 'precondition', 'invalid', 'conflict']);

/** Why a rollout is not finished, in kubectl's words, or undefined when it is. */
export function rolloutProblem(d: V1Deployment): string | undefined {
  const desired = d.spec?.replicas ?? 1;
  const status = d.status ?? {};
  if ((status.observedGeneration ?? 0) < (d.metadata?.generation ?? 0))
    return 'waiting for the rollout to be observed';
  if ((status.updatedReplicas ?? 0) < desired)
    return `${status.updatedReplicas ?? 0} of ${desired} new replicas updated`;
  if ((status.replicas ?? 0) > (status.updatedReplicas ?? 0)) {
    return `${(status.replicas ?? 0) - (status.updatedReplicas ?? 0)} old replicas pending termination`;
  }
  if ((status.availableReplicas ?? 0) < (status.updatedReplicas ?? 0)) {
    return `${status.availableReplicas ?? 0} of ${status.updatedReplicas ?? 0} updated replicas available`;
  }
  return undefined;
}

/** Why a colour cannot take traffic, or undefined when it is fully ready. */
function readinessProblem(d: V1Deployment): string | undefined {
  const desired = d.spec?.replicas ?? 0;
  if (desired === 0) return `${d.metadata?.name} has 0 replicas`;
  const available = d.status?.availableReplicas ?? 0;
  if (available < desired) return `${d.metadata?.name} has ${available} of ${desired} replicas available`;
  return rolloutProblem(d);
}
