import type { V1Container, V1Deployment } from '@kubernetes/client-node';
import type { ServicePolicy } from '../../config/policy';
import { chooseContainer, repositoryOf } from '../domain/release';
import { KubeError } from './errors';

/**
 * The container of `deployment` a deploy of `service` sets the image of: the policy's
 * `container` when it names one, else the only container running the policy's `image`
 * repository. Anything else is a precondition failure that says what to fix.
 */
export function imageContainer(
  deployment: V1Deployment,
  service: string,
  policy: Pick<ServicePolicy, 'image' | 'container'>,
): V1Container {
  const containers = deployment.spec?.template.spec?.containers ?? [];
  // The rule is chooseContainer's (plans read versions by it too); only the words are the adapter's.
  const chosen =
    policy.image || policy.container
      ? chooseContainer(containers, policy.image ?? '', policy.container)
      : undefined;
  const found = chosen && !('refused' in chosen) ? containers.find((c) => c.name === chosen.name) : undefined;
  if (found) return found;
  const name = deployment.metadata?.name ?? '?';
  const listed = containers.map((c) => `${c.name}=${c.image ?? '(no image)'}`).join(', ') || 'none';
  if (policy.container) {
    throw new KubeError(
      'precondition',
      `deployment ${name} has no container '${policy.container}' (services.${service}.container); its containers: ${listed}`,
    );
  }
  if (!policy.image) {
    throw new KubeError(
      'precondition',
      `the policy names no image repository for ${service} (services.${service}.image), so the bot cannot tell which container of ${name} to change`,
    );
  }
  const running = containers.filter((c) => c.image !== undefined && repositoryOf(c.image) === policy.image);
  if (running.length === 0) {
    throw new KubeError(
      'precondition',
      `no container of deployment ${name} runs ${policy.image} (services.${service}.image); its containers: ${listed}`,
    );
  }
  throw new KubeError(
    'precondition',
    `${running.length} containers of deployment ${name} run ${policy.image} (${running.map((c) => c.name).join(', ')}); ` +
      `name the one to change in services.${service}.container`,
  );
}

/** What `kubectl rollout history` shows of each revision. */
export const CHANGE_CAUSE = 'kubernetes.io/change-cause';

/**
 * The strategic merge patch `kubectl set image deployment/<d> <container>=<image> --record`
 * sends (its two-way merge patch of the container list): the order of every container by
 * name, and the one container's new image; and the change's cause, which the new revision
 * carries into `kubectl rollout history` (else it would show the previous one's).
 */
export function setImagePatch(deployment: V1Deployment, container: string, image: string): object {
  const containers = deployment.spec?.template.spec?.containers ?? [];
  return {
    metadata: { annotations: { [CHANGE_CAUSE]: `azora-chatops: set image ${container}=${image}` } },
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': containers.map((c) => ({ name: c.name })),
          containers: [{ image, name: container }],
        },
      },
    },
  };
}
