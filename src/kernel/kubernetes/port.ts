import type { V1Deployment } from '@kubernetes/client-node';
import type { Colour, EnvironmentName } from '../domain/environment';
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
  /** Sets the replicas of the live workload, or moves its HPA's bounds. */
  scale(env: EnvironmentName, service: string, replicas: number): Promise<ScaleResult>;
  /** Why `colour` of a blue/green service cannot take traffic now; undefined when it can. */
  colourNotReady(env: EnvironmentName, service: string, colour: Colour): Promise<string | undefined>;
  switchColour(
    env: EnvironmentName,
    service: string,
    to: Colour,
    endpointsDeadlineMs?: number,
  ): Promise<SwitchResult>;
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
  logs(env: EnvironmentName, service: string, query: LogQuery): Promise<{ pods: string[]; lines: LogLine[] }>;
  followLogs(
    env: EnvironmentName,
    service: string,
    options: { durationMs: number; grep?: string; signal?: AbortSignal },
    onLine: (line: LogLine) => void,
  ): Promise<{ pods: string[] }>;
  /** The service's health path through the API server's service proxy. */
  health(env: EnvironmentName, service: string): Promise<{ ok: boolean; path: string; detail: string }>;
}
