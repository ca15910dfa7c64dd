import type { Policy } from '../config/policy';
import { ENVIRONMENTS, type EnvironmentName } from '../kernel/domain/environment';
import { versionOf } from '../kernel/domain/release';
import { environmentOf, serviceOf } from '../kernel/domain/topology';
import type { ClusterPort } from '../kernel/kubernetes/port';
import { promotionOf } from './domain/history';

/**
 * Where a version must have succeeded before it goes to `env`: for an environment that
 * requires approval, the first one that does not (staging), unless the service opts out.
 */
function promotionSource(policy: Policy, env: EnvironmentName, service: string): EnvironmentName | undefined {
  if (environmentOf(policy, env).approval !== 'required' || !serviceOf(policy, service).stagingFirst)
    return undefined;
  return ENVIRONMENTS.find((name) => name !== env && policy.environments[name]?.approval === 'none');
}

/**
 * Why `image` may not be deployed to `env` by the promotion rule (staging before
 * production), read from the proving environment's history now; undefined when it may.
 */
export async function promotionProblem(
  kube: Pick<ClusterPort, 'releases'>,
  policy: Policy,
  env: EnvironmentName,
  service: string,
  image: string,
): Promise<{ proving: EnvironmentName; why: string } | undefined> {
  const proving = promotionSource(policy, env, service);
  if (!proving) return undefined;
  const promotion = promotionOf(await kube.releases(proving, service), image);
  if (promotion === 'released') return undefined;
  const why =
    promotion === 'rolled-back'
      ? `${versionOf(image)} was rolled back in ${proving} after its release there`
      : `${versionOf(image)} was never released to ${proving}`;
  return { proving, why };
}
