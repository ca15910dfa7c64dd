import type { Policy } from '../../../src/config/policy';
import type { Deps } from '../../../src/deps';
import { createLogger } from '../../../src/kernel/log';
import { FakeAccessDirectory } from './access';
import { ManualClock } from './clock';
import { FakeCluster } from './cluster';
import { FakeMessenger } from './messenger';
import { MemoryAudit, MemoryBackups, MemoryLocks, MemoryReleases, MemoryRequestStore } from './stores';

/** What a job that plans and runs changes uses, as fakes the test can look into. */
export interface FakeWorld {
  policy: Policy;
  clock: ManualClock;
  cluster: FakeCluster;
  messenger: FakeMessenger;
  requests: MemoryRequestStore;
  locks: MemoryLocks;
  audit: MemoryAudit;
  releases: MemoryReleases;
  backups: MemoryBackups;
  access: FakeAccessDirectory;
  /** The same fakes as the job sees them. */
  deps: Deps;
}

const PROVIDED = [
  'policy',
  'logger',
  'messenger',
  'access',
  'requests',
  'locks',
  'audit',
  'releases',
  'backups',
  'now',
  'kube',
  'timing',
] as const;

/** Every field of Deps; those not in PROVIDED throw when a job reaches for them. */
const DEPS_FIELDS: ReadonlySet<string> = new Set<keyof Deps>([
  ...PROVIDED,
  'metrics',
  'slack',
  'outbox',
  'alertmanager',
  'alerts',
  'alertInbox',
  'maintenance',
  'maintenanceWindows',
  'gate',
  'runbooks',
  'queues',
  'pagerduty',
]);

/**
 * The fakes wired as a job's Deps. Only the fields the executor and planner use are there;
 * reading any other (the queues, PagerDuty, the outbox…) throws, so a test cannot pass by
 * quietly leaning on something it does not set up.
 */
export function fakeWorld(
  policy: Policy,
  options: { now: number; groups?: Record<string, readonly string[]> },
): FakeWorld {
  const clock = new ManualClock(options.now);
  const world = {
    policy,
    clock,
    cluster: new FakeCluster(policy, { now: () => clock.now() }),
    messenger: new FakeMessenger(),
    requests: new MemoryRequestStore(),
    locks: new MemoryLocks(clock),
    audit: new MemoryAudit(clock),
    releases: new MemoryReleases(clock),
    backups: new MemoryBackups(),
    access: new FakeAccessDirectory(policy, options.groups),
  };
  const fields: Record<(typeof PROVIDED)[number], unknown> = {
    policy,
    logger: createLogger('silent'),
    messenger: world.messenger,
    access: world.access,
    requests: world.requests,
    locks: world.locks,
    audit: world.audit,
    releases: world.releases,
    backups: world.backups,
    now: () => clock.now(),
    kube: world.cluster,
    timing: { rolloutDeadlineMs: 60_000, endpointsDeadlineMs: 30_000, progressEveryMs: 30_000 },
  };
  const deps = new Proxy(fields, {
    get(target, prop) {
      if (typeof prop === 'string' && prop in target) return target[prop as keyof typeof target];
      if (typeof prop === 'string' && DEPS_FIELDS.has(prop))
        throw new Error(`the fake deps have no ${prop}: give the test a fake of it`);
      return undefined;
    },
  }) as unknown as Deps;
  return { ...world, deps };
}
