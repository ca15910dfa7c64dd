import type { Logger } from '../../src/kernel/log';
import { ControllerContext } from './controllers/context';
import { DeploymentController } from './controllers/deployments';
import { EndpointsController } from './controllers/endpoints';
import { MetricsController } from './controllers/metrics';
import { GarbageCollector } from './controllers/garbage';
import { HpaController } from './controllers/hpas';
import { JobController } from './controllers/jobs';
import { PodController } from './controllers/pods';
import { ReplicaSetController } from './controllers/replicasets';
import { StatefulSetController } from './controllers/statefulsets';
import type { RecordedLogs } from './logs';
import type { Postgres } from './postgres';
import type { ObjectStore } from './store';

export interface ControllerOptions {
  store: ObjectStore;
  clock: () => number;
  /** How long a new pod stays Pending before it is Running and Ready; 0 makes it Ready at once. */
  readyDelayMs: number;
  logger: Logger;
  /** How long (cluster clock) a Job pod's container runs before it exits. */
  jobRunMs: number;
  /** What Job pods run against: the simulated PostgreSQL and its backup volumes. */
  database: Pick<Postgres, 'start'>;
  /** Where Job pods' output is kept, for their log. */
  jobLogs: RecordedLogs;
  /** Runs after every reconcile, once the store is stable (the cluster looks at its endpoints then). */
  afterReconcile?: () => void;
}

/** Safety net: a reconcile that keeps writing after this many passes has a bug, not more work. */
const MAX_PASSES = 25;

/**
 * The deployment, replicaset, statefulset, job, HPA and endpoints controllers plus a kubelet
 * (one file each under controllers/), run as one synchronous reconcile over the store. It
 * runs after every write (on the next tick), when a pod's readiness timer fires and when a
 * Job's container or deadline is due; settle() waits for writes and readiness to be quiet
 * (not for Jobs, which run on the cluster clock: tick() looks at them again).
 */
export class Controller {
  private scheduled = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  private readonly ctx: ControllerContext;
  private readonly pods: PodController;
  private readonly garbage: GarbageCollector;
  private readonly hpas: HpaController;
  private readonly deployments: DeploymentController;
  private readonly replicaSets: ReplicaSetController;
  private readonly statefulSets: StatefulSetController;
  private readonly jobs: JobController;
  private readonly endpoints: EndpointsController;
  private readonly metrics: MetricsController;
  private readonly unsubscribe: () => void;

  constructor(private readonly options: ControllerOptions) {
    this.ctx = new ControllerContext(options);
    this.pods = new PodController(this.ctx, {
      readyDelayMs: options.readyDelayMs,
      onReady: () => {
        this.schedule();
        if (this.isIdle()) this.wakeWaiters();
      },
    });
    this.garbage = new GarbageCollector(this.ctx);
    this.hpas = new HpaController(this.ctx);
    this.deployments = new DeploymentController(this.ctx);
    this.replicaSets = new ReplicaSetController(this.ctx, this.pods);
    this.statefulSets = new StatefulSetController(this.ctx, this.pods);
    this.jobs = new JobController(this.ctx, this.pods, {
      runMs: options.jobRunMs,
      scripts: options.database,
      logs: options.jobLogs,
      onTimer: () => this.schedule(),
    });
    this.endpoints = new EndpointsController(this.ctx);
    this.metrics = new MetricsController(this.ctx);
    this.unsubscribe = options.store.subscribe(() => this.schedule());
  }

  /** Brings a freshly seeded store to its steady state at once, as if it had been running for a while. */
  bootstrap(): void {
    this.ctx.bootstrapping = true;
    try {
      this.reconcileUntilStable();
    } finally {
      this.ctx.bootstrapping = false;
    }
    this.options.afterReconcile?.();
  }

  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => this.run());
  }

  /** Looks at running Jobs again (their containers and deadlines go by the cluster clock, which a test may move). */
  tick(): void {
    if (this.jobs.busy) this.schedule();
  }

  settle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    this.pods.stop();
    this.jobs.stop();
    this.wakeWaiters();
  }

  private isIdle(): boolean {
    return this.stopped || (!this.scheduled && this.pods.pending === 0);
  }

  private wakeWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private run(): void {
    this.scheduled = false;
    if (this.stopped) return;
    try {
      this.reconcileUntilStable();
      this.options.afterReconcile?.();
    } catch (err) {
      this.options.logger.error({ err }, 'simulated controller failed');
    }
    if (this.isIdle()) this.wakeWaiters();
  }

  private reconcileUntilStable(): void {
    const { store } = this.options;
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const before = store.currentRevision;
      this.reconcileOnce();
      if (store.currentRevision === before) return;
    }
    this.options.logger.warn('simulated controller did not converge');
  }

  /**
   * One pass in the order the pieces depend on each other. The reconcilers read the stored
   * (frozen) objects that scan() hands out and copy only what they change.
   */
  private reconcileOnce(): void {
    this.garbage.reconcile();
    this.endpoints.collectGarbage();
    this.hpas.reconcile();
    this.deployments.reconcile();
    this.replicaSets.reconcile();
    this.statefulSets.reconcile();
    this.jobs.reconcile();
    this.pods.reconcile();
    this.endpoints.reconcile();
    this.metrics.reconcile();
  }
}
