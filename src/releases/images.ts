import type { V1Deployment } from '@kubernetes/client-node';
import type { Policy } from '../config/policy';
import type { Colour, EnvironmentName } from '../kernel/domain/environment';
import { chooseContainer } from '../kernel/domain/release';
import type { Workload } from '../kernel/domain/topology';
import type { ClusterPort } from '../kernel/kubernetes/port';

/**
 * The image that stands for a deployment's version: its release container's (the policy's
 * `container`, or the one running the policy's repository), or, for a service the bot
 * does not deploy, every container's image. Records and plans compare these.
 */
export function releaseImageOf(policy: Policy, service: string, deployment: V1Deployment): string {
  const containers = deployment.spec?.template.spec?.containers ?? [];
  const svc = policy.services[service];
  if (svc?.image) {
    const chosen = chooseContainer(containers, svc.image, svc.container);
    if (!('refused' in chosen)) return chosen.image;
  }
  return containers.map((c) => c.image ?? '').join(', ');
}

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
