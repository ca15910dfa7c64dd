import type { V1Job, V1JobCondition, V1Pod } from '@kubernetes/client-node';
import type { Policy } from '../../config/policy';
import type { Clock } from '../clock';
import {
  LABELS,
  MANAGED_BY,
  type DatabaseJob,
  type DatabaseJobKind,
  type JobManifest,
  type JobOutcome,
} from '../domain/database-job';
import type { EnvironmentName } from '../domain/environment';
import type { callOptions, ClusterClients } from './clients';
import { KubeError } from './errors';

/** The end of a Job's log the bot reads: the scripts' closing lines are in it, and it is bounded. */
export const JOB_LOG_LINES = 200;
export const JOB_LOG_BYTES = 64 * 1024;
/** When the last JOB_LOG_LINES lines were cut at JOB_LOG_BYTES, these last lines are read instead. */
const JOB_LOG_FALLBACK_LINES = 10;

/** The labels the Job controller puts on a Job's pods: the current one, then the one before 1.27. */
const POD_JOB_LABELS = ['batch.kubernetes.io/job-name', 'job-name'];

/** What the Job operations use of the adapter (src/kernel/kubernetes/kubernetes.ts). */
export interface JobAccess {
  readonly policy: Policy;
  readonly clock: Clock;
  readonly pollMs: number;
  clients(env: EnvironmentName): ClusterClients;
  /** One API call with the request deadline, failures as KubeError. */
  call<T>(what: string, fn: (options: ReturnType<typeof callOptions>) => Promise<T>): Promise<T>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The bot's database Jobs (backups and restores) on the environment's cluster: created
 * only in its namespace and only with the bot's label, waited for by polling, their pod's
 * log read bounded, listed by their labels, deleted with their pods. The adapter delegates
 * here; the pure checks and mappings below are shared with the unit tests' fake cluster.
 */
export class JobOps {
  constructor(private readonly k: JobAccess) {}

  /** Creates the Job; one that exists already (a retried job) is left as it is, if it is the bot's. */
  async createJob(env: EnvironmentName, manifest: JobManifest): Promise<{ created: boolean }> {
    const namespace = checkJobManifest(this.k.policy, env, manifest);
    const { name } = manifest.metadata;
    const { batch } = this.k.clients(env);
    try {
      await this.k.call(`creating job ${name} in ${namespace}`, (o) =>
        batch.createNamespacedJob({ namespace, body: manifest as unknown as V1Job }, o),
      );
      return { created: true };
    } catch (err) {
      if (!(err instanceof KubeError && err.status === 409)) throw err;
    }
    const existing = await this.readJob(env, namespace, name);
    if (!isBotJob(existing)) throw notTheBots(name, namespace, 'not creating it');
    return { created: false };
  }

  /** Polls the Job until it succeeded or failed, then reads the end of its newest pod's log. */
  async waitForJob(env: EnvironmentName, name: string, deadlineMs: number): Promise<JobOutcome> {
    const namespace = namespaceOf(this.k.policy, env);
    const deadline = this.k.clock.now() + deadlineMs;
    for (;;) {
      const job = await this.readJob(env, namespace, name);
      const { status, ...state } = jobState(job);
      if (status !== 'running') return { status, ...state, log: await this.jobLog(env, namespace, name) };
      if (this.k.clock.now() > deadline) throw jobTimeout(name, deadlineMs);
      await sleep(this.k.pollMs);
    }
  }

  /** The bot's Jobs of one kind in the environment, by their labels, newest first. */
  async listJobs(env: EnvironmentName, kind: DatabaseJobKind): Promise<DatabaseJob[]> {
    const namespace = namespaceOf(this.k.policy, env);
    const list = await this.k.call(`listing ${kind} jobs in ${namespace}`, (o) =>
      this.k.clients(env).batch.listNamespacedJob({ namespace, labelSelector: jobSelector(env, kind) }, o),
    );
    return databaseJobs(list.items);
  }

  /** Deletes one of the bot's Jobs and (in the background) its pods; one already gone is fine. */
  async deleteJob(env: EnvironmentName, name: string): Promise<void> {
    const namespace = namespaceOf(this.k.policy, env);
    let job: V1Job;
    try {
      job = await this.readJob(env, namespace, name);
    } catch (err) {
      if (err instanceof KubeError && err.kind === 'not-found') return;
      throw err;
    }
    if (!isBotJob(job)) throw notTheBots(name, namespace, 'not deleting it');
    try {
      await this.k.call(`deleting job ${name} in ${namespace}`, (o) =>
        this.k.clients(env).batch.deleteNamespacedJob(
          {
            name,
            namespace,
            propagationPolicy: 'Background',
            // The Job read above, not one created under its name since.
            body: { preconditions: { uid: job.metadata?.uid } },
          },
          o,
        ),
      );
    } catch (err) {
      if (err instanceof KubeError && err.kind === 'not-found') return;
      throw err;
    }
  }

  private readJob(env: EnvironmentName, namespace: string, name: string): Promise<V1Job> {
    return this.k.call(`reading job ${name} in ${namespace}`, (o) =>
      this.k.clients(env).batch.readNamespacedJob({ name, namespace }, o),
    );
  }

  /**
   * The end of the log of the Job's newest pod (the last JOB_LOG_LINES lines, at most
   * JOB_LOG_BYTES); '' when it has no pod left (a deadline deletes them) or no log to read.
   */
  private async jobLog(env: EnvironmentName, namespace: string, job: string): Promise<string> {
    const { core } = this.k.clients(env);
    let pods: V1Pod[] = [];
    for (const label of POD_JOB_LABELS) {
      const list = await this.k.call(`listing the pods of job ${job}`, (o) =>
        core.listNamespacedPod({ namespace, labelSelector: `${label}=${job}` }, o),
      );
      pods = list.items;
      if (pods.length > 0) break;
    }
    const pod = newestPod(pods);
    const name = pod?.metadata?.name;
    if (!pod || !name) return '';
    const container = pod.spec?.containers[0]?.name;
    const read = async (tailLines: number) => {
      const raw: unknown = await this.k.call(`reading the log of ${name}`, (o) =>
        core.readNamespacedPodLog(
          { name, namespace, ...(container ? { container } : {}), tailLines, limitBytes: JOB_LOG_BYTES },
          o,
        ),
      );
      return typeof raw === 'string' ? raw : raw === undefined || raw === null ? '' : JSON.stringify(raw);
    };
    try {
      const log = await read(JOB_LOG_LINES);
      // Cut at the byte limit, the closing lines would be missing: read just those.
      return Buffer.byteLength(log) >= JOB_LOG_BYTES ? await read(JOB_LOG_FALLBACK_LINES) : log;
    } catch (err) {
      // A pod that never started, or went in between, has no log: the Job's status still tells.
      if (err instanceof KubeError && (err.kind === 'not-found' || err.kind === 'invalid')) return '';
      throw err;
    }
  }
}

// Pure: shared with test/kit/fakes/cluster.ts.

/** The environment's namespace (policy environments.<env>.namespace). */
export function namespaceOf(policy: Policy, env: EnvironmentName): string {
  const namespace = policy.environments[env]?.namespace;
  if (!namespace) throw new KubeError('precondition', `${env} is not an environment of the policy`);
  return namespace;
}

/** Refuses a manifest the bot must not create: in another namespace, or without its label. Returns the namespace. */
export function checkJobManifest(policy: Policy, env: EnvironmentName, manifest: JobManifest): string {
  const namespace = namespaceOf(policy, env);
  const { name, labels } = manifest.metadata;
  if (manifest.metadata.namespace !== namespace) {
    throw new KubeError(
      'precondition',
      `not creating job ${name} in namespace ${manifest.metadata.namespace}: ${env} runs in ${namespace} (policy environments.${env}.namespace)`,
    );
  }
  if (labels[LABELS.managedBy] !== MANAGED_BY) {
    throw new KubeError(
      'precondition',
      `not creating job ${name}: it has no ${LABELS.managedBy}=${MANAGED_BY} label, so the bot could not find it again`,
    );
  }
  const labelled = labels[LABELS.environment];
  if (labelled !== undefined && labelled !== env) {
    throw new KubeError(
      'precondition',
      `not creating job ${name} in ${env}: its ${LABELS.environment} label says ${labelled}`,
    );
  }
  return namespace;
}

export function isBotJob(job: { metadata?: { labels?: Record<string, string> } }): boolean {
  return job.metadata?.labels?.[LABELS.managedBy] === MANAGED_BY;
}

export function notTheBots(name: string, namespace: string, action: string): KubeError {
  return new KubeError(
    'precondition',
    `job ${name} in ${namespace} is not one of the bot's (no ${LABELS.managedBy}=${MANAGED_BY} label): ${action}`,
  );
}

export function jobTimeout(name: string, deadlineMs: number): KubeError {
  return new KubeError('deadline', `job ${name} did not finish within ${Math.round(deadlineMs / 1000)}s`);
}

/** The label selector of the bot's Jobs of one kind in one environment. */
export function jobSelector(env: EnvironmentName, kind: DatabaseJobKind): string {
  return `${LABELS.managedBy}=${MANAGED_BY},${LABELS.kind}=${kind},${LABELS.environment}=${env}`;
}

const ms = (at: Date | string | undefined): number | undefined => {
  if (at === undefined) return undefined;
  const value = at instanceof Date ? at.getTime() : Date.parse(at);
  return Number.isFinite(value) ? value : undefined;
};

const trueCondition = (job: V1Job, type: string): V1JobCondition | undefined =>
  job.status?.conditions?.find((c) => c.type === type && c.status === 'True');

export interface JobState {
  status: DatabaseJob['status'];
  /** Of a failed Job: its Failed condition's reason and message. */
  reason?: string;
  startedAt?: number;
  finishedAt?: number;
}

/**
 * Where a Job stands: its Complete or Failed condition, else its pod counts against
 * completions and backoffLimit (a controller that has not written the condition yet).
 */
export function jobState(job: V1Job): JobState {
  const status = job.status ?? {};
  const startedAt = ms(status.startTime);
  const times = (finishedAt: number | undefined) => ({
    ...(startedAt !== undefined ? { startedAt } : {}),
    ...(finishedAt !== undefined ? { finishedAt } : {}),
  });
  const complete = trueCondition(job, 'Complete');
  if (complete)
    return { status: 'succeeded', ...times(ms(status.completionTime) ?? ms(complete.lastTransitionTime)) };
  const failed = trueCondition(job, 'Failed');
  if (failed) {
    const reason = [failed.reason, failed.message].filter(Boolean).join(': ');
    return { status: 'failed', ...(reason ? { reason } : {}), ...times(ms(failed.lastTransitionTime)) };
  }
  if ((status.succeeded ?? 0) >= (job.spec?.completions ?? 1)) {
    return { status: 'succeeded', ...times(ms(status.completionTime)) };
  }
  if ((status.failed ?? 0) > (job.spec?.backoffLimit ?? 6)) {
    return { status: 'failed', reason: 'BackoffLimitExceeded', ...times(undefined) };
  }
  return { status: 'running', ...times(undefined) };
}

/** A Job of the bot's as listed: what its labels and status say; undefined for one without a kind. */
export function toDatabaseJob(job: V1Job): DatabaseJob | undefined {
  const labels = job.metadata?.labels ?? {};
  const kind = labels[LABELS.kind];
  const name = job.metadata?.name;
  if ((kind !== 'backup' && kind !== 'restore') || !name) return undefined;
  const { status, startedAt, finishedAt } = jobState(job);
  return {
    name,
    kind,
    backupId: labels[LABELS.backup] ?? '',
    request: labels[LABELS.request] ?? '',
    status,
    createdAt: ms(job.metadata?.creationTimestamp) ?? 0,
    ...(startedAt !== undefined ? { startedAt } : {}),
    ...(finishedAt !== undefined ? { finishedAt } : {}),
  };
}

/** The bot's Jobs among `jobs`, newest first (by creation, then by name: the names sort by time). */
export function databaseJobs(jobs: V1Job[]): DatabaseJob[] {
  return jobs
    .filter(isBotJob)
    .map(toDatabaseJob)
    .filter((j): j is DatabaseJob => j !== undefined)
    .sort((a, b) => b.createdAt - a.createdAt || b.name.localeCompare(a.name));
}

function newestPod(pods: V1Pod[]): V1Pod | undefined {
  return [...pods].sort(
    (a, b) =>
      (ms(b.metadata?.creationTimestamp) ?? 0) - (ms(a.metadata?.creationTimestamp) ?? 0) ||
      (b.metadata?.name ?? '').localeCompare(a.metadata?.name ?? ''),
  )[0];
}
