import type { Colour } from '../kernel/domain/environment';
import { Refusal } from '../kernel/domain/refusal';
import type { ClusterPort } from '../kernel/kubernetes/port';
import type { Policy } from '../config/policy';
import type { Command, EnvironmentName } from '../commands/domain/types';
import { checkReplicaBounds } from './domain/guards';
import type { MaintenanceAction, PlanStep } from './domain/types';
import { workloadOf, workloadsOf } from '../kernel/domain/topology';

export type ChangeCommand =
  | Extract<Command, { verb: 'scale' | 'switch' | 'rollback' }>
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
  if (command.verb === 'scale') return [command.service];
  if (command.service) return [command.service];
  const kinds = command.verb === 'switch' ? ['blue-green'] : ['blue-green', 'deployment'];
  return workloadsOf(policy, command.environment)
    .filter((w) => kinds.includes(w.kind))
    .map((w) => w.service);
}

/** What the change will do, per service, computed from the live cluster. */
export async function planChange(
  kube: ClusterPort,
  policy: Policy,
  command: ChangeCommand,
  only?: string[],
  /** Per service, the colour to switch it to (a switch back), instead of the command's. */
  targets?: Readonly<Record<string, Colour>>,
): Promise<PlanStep[]> {
  const env = command.environment;
  if (command.verb === 'maintenance') {
    const { action, start, durationMs, reason, windowId } = command;
    return [
      {
        kind: 'maintenance',
        service: env,
        durationMs,
        reason,
        ...(action !== 'now' ? { action } : {}),
        ...(start !== undefined ? { start } : {}),
        ...(windowId ? { windowId } : {}),
      },
    ];
  }
  const services = servicesOf(policy, command, only);
  if (services.length === 0)
    throw new Refusal('plan', `${env} has no service that ${command.verb} applies to`);

  if (command.verb === 'scale') {
    const bounds = checkReplicaBounds(policy, env, command.service, command.replicas);
    if (!bounds.ok) throw new Refusal('plan', bounds.reason);
    const state = await kube.serviceState(env, workloadOf(policy, env, command.service));
    const live = state.workloads.find((w) => !state.activeColour || w.colour === state.activeColour)!;
    if (live.desired === command.replicas) {
      throw new Refusal('plan', `${command.service} in ${env} already runs ${command.replicas} replicas`);
    }
    return [
      {
        kind: 'scale',
        service: command.service,
        target: live.name,
        from: live.desired,
        to: command.replicas,
        ...(live.hpa ? { hpa: live.hpa } : {}),
      },
    ];
  }

  if (command.verb === 'switch') {
    const steps: PlanStep[] = [];
    for (const service of services) {
      const workload = workloadOf(policy, env, service);
      if (workload.kind !== 'blue-green')
        throw new Refusal('plan', `${service} in ${env} is not deployed blue/green`);
      const from = await kube.activeColour(env, workload);
      const to = targets?.[service] ?? command.colour;
      if (from !== to) steps.push({ kind: 'switch', service, serviceName: workload.serviceName, from, to });
    }
    if (steps.length === 0) {
      const wanted = targets ? 'the colours asked for' : command.colour;
      throw new Refusal('plan', `${services.join(', ')} already serve ${wanted} in ${env}`);
    }
    return steps;
  }

  return Promise.all(
    services.map(async (service): Promise<PlanStep> => {
      const target = await kube.planRollback(env, service, command.toRevision);
      if (target.kind === 'colour') {
        return { kind: 'switch', service, serviceName: target.serviceName, from: target.from, to: target.to };
      }
      const { kind: _revision, ...revision } = target;
      return { kind: 'rollback', service, ...revision };
    }),
  );
}
