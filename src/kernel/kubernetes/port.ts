import type { V1Deployment } from '@kubernetes/client-node';
import type { Colour, EnvironmentName } from '../domain/environment';
import type { ReleaseRecord } from '../domain/release';
import type { DatabaseJob, DatabaseJobKind, JobManifest, JobOutcome } from '../domain/database-job';
import type { Workload } from '../domain/topology';
import type { RollbackTarget, ScaleResult, ServiceState, SwitchResult } from './kubernetes';
import type { LogLine, LogQuery } from './logs';

export type { RollbackTarget, ScaleResult, ServiceState, SwitchResult, WorkloadState } from './kubernetes';
export type { LogLine, LogQuery } from './logs';

/**
 * What the operations ask of a cluster: exactly the methods of the Kubernetes adapter that
 * code outside src/kernel/kubernetes calls. Jobs, the planner and the executor depend on
 * this, not on the client class, so their tests run against an in-memory cluster
 * (test/kit/fakes/cluster.ts). Every method takes policy names and throws KubeError.
 */
export interface ClusterPort {
  /** Each environment's API server answers (worker readiness). */
  reachable(): Promise<void>;
  /** Every service of an environment, in policy order. */
  status(env: EnvironmentName): Promise<ServiceState[]>;
  serviceState(env: EnvironmentName, workload: Workload): Promise<ServiceState>;
  readDeployment(env: EnvironmentName, namespace: string, name: string): Promise<V1Deployment>;
  /** The colour a blue/green Service selects. */
  activeColour(env: EnvironmentName, workload: Extract<Workload, { kind: 'blue-green' }>): Promise<Colour>;
  /**
   * Sets the replicas of the live workload, or moves its HPA's bounds. `target`, the
   * workload a plan pinned: refused when it is not the live one any more.
   */
  scale(env: EnvironmentName, service: string, replicas: number, target?: string): Promise<ScaleResult>;
  /** Why `colour` of a blue/green service cannot take traffic now; undefined when it can. */
  colourNotReady(env: EnvironmentName, service: string, colour: Colour): Promise<string | undefined>;
  /**
   * Moves the Service's selector to `to` once that colour is ready, and waits for the
   * endpoints. With `release`, the record is added to the Service's release history in
   * the same patch as the selector, so what went live and what served before are one
   * change (a record whose id is there already is replaced, so a retry adds nothing).
   */
  switchColour(
    env: EnvironmentName,
    service: string,
    to: Colour,
    endpointsDeadlineMs?: number,
    release?: ReleaseRecord,
  ): Promise<SwitchResult>;
  /**
   * `kubectl set image deployment/<deployment> <container>=<image>`: the same patch, on the
   * policy's container (or the only one running the policy's repository). Idempotent:
   * `changed` is false when it already runs `image`.
   */
  setImage(
    env: EnvironmentName,
    service: string,
    deployment: string,
    image: string,
  ): Promise<{ container: string; changed: boolean }>;
  /**
   * Sets one deployment's replicas (the idle colour, brought to the live colour's count).
   * When an HPA owns the deployment, its minimum is raised to `replicas` instead.
   */
  scaleDeployment(env: EnvironmentName, service: string, deployment: string, replicas: number): Promise<void>;
  /**
   * GETs `path` on every pod of `deployment` through the API server's pod proxy (the idle
   * colour, checked on its own before any traffic goes to it): the status each answered,
   * 0 when none came back.
   */
  probePods(
    env: EnvironmentName,
    service: string,
    deployment: string,
    path: string,
  ): Promise<Array<{ pod: string; status: number; detail: string }>>;
  /** GETs `path` through the service proxy: the status the app answered, 0 when none came back. */
  probeService(
    env: EnvironmentName,
    service: string,
    path: string,
  ): Promise<{ status: number; detail: string }>;
  /** The release history on the service's cluster object (blue/green: its Service; rolling: its Deployment), oldest first. */
  releases(env: EnvironmentName, service: string): Promise<ReleaseRecord[]>;
  /** Adds `record` to that history (replacing one with its id), keeping the policy's `releases.history` newest. */
  recordRelease(env: EnvironmentName, service: string, record: ReleaseRecord): Promise<void>;
  /** Fixes what a rollback goes back to, before any approval or change. */
  planRollback(env: EnvironmentName, service: string, toRevision?: number): Promise<RollbackTarget>;
  /** Applies a pinned rollback; idempotent. */
  applyRollback(env: EnvironmentName, service: string, target: RollbackTarget): Promise<{ changed: boolean }>;
  waitForRollout(
    env: EnvironmentName,
    namespace: string,
    name: string,
    deadlineMs: number,
  ): Promise<V1Deployment>;
  waitForScale(
    env: EnvironmentName,
    service: string,
    target: string,
    replicas: number,
    deadlineMs: number,
  ): Promise<void>;
  /** The pods that serve `service` now: for blue/green, the live colour's. */
  podsOf(env: EnvironmentName, service: string): Promise<{ namespace: string; pods: string[] }>;
  /**
   * The last lines across the service's pods. A pod that cannot be read (still starting
   * in a rollout, gone since it was listed) is left out and named in `unreadable` with
   * why; only when none can be read does it fail.
   */
  logs(
    env: EnvironmentName,
    service: string,
    query: LogQuery,
  ): Promise<{ pods: string[]; lines: LogLine[]; unreadable: string[] }>;
  /**
   * New lines of the service's pods for `durationMs`, also of pods that come up meanwhile
   * (looked for every few seconds); `pods` are all it followed, `unreadable` those it
   * never could, with why.
   */
  followLogs(
    env: EnvironmentName,
    service: string,
    options: { durationMs: number; grep?: string; signal?: AbortSignal },
    onLine: (line: LogLine) => void,
  ): Promise<{ pods: string[]; unreadable: string[] }>;
  /** The service's health path through the API server's service proxy. */
  health(env: EnvironmentName, service: string): Promise<{ ok: boolean; path: string; detail: string }>;
  /** Creates one of the bot's database Jobs in the environment's namespace; one that exists already (a retried job) is left as it is. */
  createJob(env: EnvironmentName, manifest: JobManifest): Promise<{ created: boolean }>;
  /**
   * Waits until the Job succeeded or failed (or `deadlineMs` passed: a KubeError timeout),
   * then reads the end of its pod's log (bounded): what the scripts reported.
   */
  waitForJob(env: EnvironmentName, name: string, deadlineMs: number): Promise<JobOutcome>;
  /** The bot's Jobs of one kind in the environment (by their labels), newest first. */
  listJobs(env: EnvironmentName, kind: DatabaseJobKind): Promise<DatabaseJob[]>;
  /** Deletes one of the bot's Jobs and its pods; one already gone is fine. */
  deleteJob(env: EnvironmentName, name: string): Promise<void>;
}
