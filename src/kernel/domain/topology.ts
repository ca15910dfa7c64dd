import type { EnvironmentPolicy, Policy, ServicePolicy } from '../../config/policy';
import type { Colour, EnvironmentName } from './environment';

export { COLOURS } from './environment';
export const otherColour = (colour: Colour): Colour => (colour === 'blue' ? 'green' : 'blue');

/**
 * What a policy service is in one environment's cluster. Blue/green services run two
 * deployments, `<name>-blue` and `<name>-green`, behind one Service whose `version`
 * selector picks the live colour.
 */
export type Workload =
  | { kind: 'deployment'; namespace: string; service: string; deployment: string; app: string }
  | {
      kind: 'blue-green';
      namespace: string;
      service: string;
      app: string;
      /** The Kubernetes Service that carries traffic. */
      serviceName: string;
      deployments: Record<Colour, string>;
    }
  | { kind: 'statefulset'; namespace: string; service: string; statefulset: string; app: string };

export class UnknownTarget extends Error {}

export function environmentOf(policy: Policy, env: EnvironmentName): EnvironmentPolicy {
  const environment = policy.environments[env];
  if (!environment) throw new UnknownTarget(`environment '${env}' is not in the policy`);
  return environment;
}

export function serviceOf(policy: Policy, service: string): ServicePolicy {
  const found = policy.services[service];
  if (!found) throw new UnknownTarget(`service '${service}' is not in the policy`);
  return found;
}

export function workloadOf(policy: Policy, env: EnvironmentName, service: string): Workload {
  const { namespace, strategy } = environmentOf(policy, env);
  const svc = serviceOf(policy, service);
  if (svc.statefulset) {
    return { kind: 'statefulset', namespace, service, statefulset: svc.statefulset, app: svc.statefulset };
  }
  const app = svc.deployment!;
  if (strategy === 'blue-green') {
    return {
      kind: 'blue-green',
      namespace,
      service,
      app,
      serviceName: app,
      deployments: { blue: `${app}-blue`, green: `${app}-green` },
    };
  }
  return { kind: 'deployment', namespace, service, deployment: app, app };
}

/** Every workload of an environment, in policy order. */
export function workloadsOf(policy: Policy, env: EnvironmentName): Workload[] {
  return Object.keys(policy.services).map((service) => workloadOf(policy, env, service));
}

/** Replica bounds for a service in one environment: the environment's override, else the service's. */
export function replicaBounds(
  policy: Policy,
  env: EnvironmentName,
  service: string,
): { min: number; max: number } {
  const svc = serviceOf(policy, service);
  return svc.environments[env]?.replicas ?? svc.replicas;
}
