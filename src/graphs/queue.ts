import type { AlertChange, AlertGroup } from '../alerts/domain/group';
import type { Deps } from '../deps';
import { alertGraphJob, alertGraphJobId } from './contracts';

/** Gives the thread's parent a moment to be posted first: the job waits for it anyway. */
const AFTER_THREAD_MS = 2_000;

/**
 * A group that opened (or fired again) in a thread of its own gets its graph: one job per
 * episode, however often the notification is delivered. Digest lines get none, so a storm
 * draws no more graphs than it has threads. Never in the way of the alert: a queue that
 * cannot take the job costs the graph only.
 */
export async function queueGraph(deps: Deps, group: AlertGroup, changes: AlertChange[]): Promise<boolean> {
  if (!deps.graphs.prometheus || group.digest) return false;
  if (!changes.some((c) => c.kind === 'opened' || c.kind === 'reopened')) return false;
  try {
    await deps.queues.enqueue(
      alertGraphJob,
      { groupId: group.id, episode: group.episode },
      { jobId: alertGraphJobId(group.id, group.episode), delay: AFTER_THREAD_MS },
    );
    return true;
  } catch (err) {
    deps.logger.warn({ group: group.id, err: (err as Error).message }, 'could not queue the alert graph');
    return false;
  }
}
