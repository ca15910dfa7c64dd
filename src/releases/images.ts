import type { V1Deployment } from '@kubernetes/client-node';
import type { Policy } from '../config/policy';
import type { Colour, EnvironmentName } from '../kernel/domain/environment';
import { releaseImage } from '../kernel/domain/release';
import type { Workload } from '../kernel/domain/topology';
import type { ClusterPort } from '../kernel/kubernetes/port';

/** A deployment's release image (see releaseImage). */
export const releaseImageOf = (policy: Policy, service: string, deployment: V1Deployment): string =>
  releaseImage(deployment.spec?.template.spec?.containers ?? [], policy.services[service]);

/** Each colour's release image of a blue/green service, read from the cluster. */
export async function colourImages(
  kube: ClusterPort,
  policy: Policy,
  env: EnvironmentName,
  workload: Extract<Workload, { kind: 'blue-green' }>,
): Promise<Record<Colour, string>> {
  const [blue, green] = await Promise.all(
    (['blue', 'green'] as const).map(async (colour) =>
      releaseImageOf(
        policy,
        workload.service,
        await kube.readDeployment(env, workload.namespace, workload.deployments[colour]),
      ),
    ),
  );
  return { blue: blue!, green: green! };
}
