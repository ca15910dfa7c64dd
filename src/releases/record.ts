import type { Deps } from '../deps';
import type { EnvironmentName } from '../kernel/domain/environment';
import type { ReleaseRecord } from '../kernel/domain/release';

/**
 * A release record goes to the cluster first (the record that survives Redis), then to
 * the index. A switch writes its record in the same patch as the selector instead, and
 * calls `indexRelease` only.
 */
export async function recordRelease(
  deps: Deps,
  env: EnvironmentName,
  service: string,
  record: ReleaseRecord,
): Promise<void> {
  await deps.kube.recordRelease(env, service, record);
  await indexRelease(deps, env, service, record);
}

export async function indexRelease(
  deps: Deps,
  env: EnvironmentName,
  service: string,
  record: ReleaseRecord,
): Promise<void> {
  try {
    const limit = deps.policy.releases.history;
    // No index (Redis lost it, or it expired): refilled from the cluster, which holds the
    // record already; an index of this record alone would hide every older one.
    if (await deps.releases.history(env, service)) await deps.releases.add(env, service, record, limit);
    else await deps.releases.fill(env, service, await deps.kube.releases(env, service), limit);
  } catch (err) {
    // The cluster holds the record; the index refills from it when asked.
    deps.logger.warn({ env, service, err: (err as Error).message }, 'could not index a release');
  }
}

/** The history of one service, oldest first: from the index, or refilled from the cluster. */
export async function historyOf(deps: Deps, env: EnvironmentName, service: string): Promise<ReleaseRecord[]> {
  const indexed = await deps.releases.history(env, service);
  if (indexed) return indexed;
  const recorded = await deps.kube.releases(env, service);
  await deps.releases.fill(env, service, recorded, deps.policy.releases.history);
  return recorded;
}
