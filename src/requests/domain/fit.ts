import type { Policy } from '../../config/policy';
import type { Command, EnvironmentName } from '../../commands/domain/types';
import { workloadOf, workloadsOf } from '../../kernel/domain/topology';
import { checkReplicaBounds, no, type Verdict } from './guards';
import type { MaintenanceAction } from './types';

export type ChangeCommand =
  | Extract<Command, { verb: 'scale' | 'switch' | 'rollback' | 'deploy' | 'restore' }>
  | {
      verb: 'maintenance';
      action: MaintenanceAction;
      environment: EnvironmentName;
      start?: number;
      durationMs: number;
      reason: string;
      windowId?: string;
    };

/** The services a command touches: the one named, or every service the verb applies to. */
export function servicesOf(policy: Policy, command: ChangeCommand, only?: string[]): string[] {
  if (only && only.length > 0) return only;
  if (command.verb === 'maintenance') return [];
  if (command.verb === 'scale' || command.verb === 'deploy') return [command.service];
  // A restore takes the whole environment: no deploy or change runs against a database being replaced.
  if (command.verb === 'restore') return Object.keys(policy.services);
  if (command.service) return [command.service];
  const kinds = command.verb === 'switch' ? ['blue-green'] : ['blue-green', 'deployment'];
  return workloadsOf(policy, command.environment)
    .filter((w) => kinds.includes(w.kind))
    .map((w) => w.service);
}

/**
 * Whether a change command fits what the policy says of its services, before anything is
 * queued or read from the cluster: replicas inside the bounds, a switch only of blue/green
 * services, a rollback only of deployments and, to a revision, only of rolling ones. The
 * planner asks again, of the policy as it is when the plan is made, and of the services it
 * plans (`only`, as for servicesOf).
 */
export function checkCommandFits(policy: Policy, command: ChangeCommand, only?: string[]): Verdict {
  const env = command.environment;
  if (command.verb === 'scale') return checkReplicaBounds(policy, env, command.service, command.replicas);
  if (command.verb !== 'switch' && command.verb !== 'rollback') return { ok: true };
  const services = servicesOf(policy, command, only);
  if (services.length === 0)
    return command.verb === 'switch'
      ? no(
          `${env} has no blue/green service: its services roll out, and switch moves traffic between colours`,
        )
      : no(`${env} has no deployment to roll back`);
  for (const service of services) {
    const workload = workloadOf(policy, env, service);
    if (command.verb === 'switch' && workload.kind !== 'blue-green')
      return no(`${service} in ${env} is not deployed blue/green: switch moves traffic between colours`);
    if (command.verb === 'rollback' && workload.kind === 'statefulset')
      return no(`${service} is a statefulset; the bot rolls back deployments only`);
    if (command.verb === 'rollback' && workload.kind === 'blue-green' && command.toRevision !== undefined)
      return no(
        `${service} in ${env} is blue/green: a rollback switches back to the previous colour and has no revision to name`,
      );
  }
  return { ok: true };
}
