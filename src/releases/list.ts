import type { Deps } from '../deps';
import type { EnvironmentName } from '../kernel/domain/environment';
import { versionOf } from '../kernel/domain/release';
import { workloadOf } from '../kernel/domain/topology';
import { colourImages, releaseImageOf } from './images';
import { historyOf } from './record';
import type { ServiceNow } from './views';

/** What each released service runs now and its history: the one service named, or every app. */
export async function releasesNow(deps: Deps, env: EnvironmentName, only?: string): Promise<ServiceNow[]> {
  const services = only ? [only] : Object.keys(deps.policy.services);
  const apps = services
    .map((service) => workloadOf(deps.policy, env, service))
    .filter((w) => w.kind !== 'statefulset');
  return Promise.all(
    apps.map(async (workload): Promise<ServiceNow> => {
      const history = await historyOf(deps, env, workload.service);
      if (workload.kind === 'blue-green') {
        const [live, images] = await Promise.all([
          deps.kube.activeColour(env, workload),
          colourImages(deps.kube, deps.policy, env, workload),
        ]);
        return {
          service: workload.service,
          live,
          versions: { blue: versionOf(images.blue), green: versionOf(images.green) },
          history,
        };
      }
      const deployment = await deps.kube.readDeployment(env, workload.namespace, workload.app);
      return {
        service: workload.service,
        versions: { current: versionOf(releaseImageOf(deps.policy, workload.service, deployment)) },
        history,
      };
    }),
  );
}
