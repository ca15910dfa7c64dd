import type { Policy } from '../../config/policy';
import { environmentOf, UnknownTarget, workloadOf } from '../../kernel/domain/topology';
import { checkReplicaBounds, no, type Verdict } from './guards';
import { repositoryOf } from '../../kernel/domain/release';
import type { OpsRequest, PlanStep } from './types';

/**
 * Whether a stored plan is still one the policy allows, as it is now: the environment and
 * every service still in it, each step an action its workload takes, replica targets
 * inside the bounds. The executor asks before it touches anything: Redis is not trusted
 * to hold only what the planner wrote, and the policy may have changed since.
 */
export function checkPlanAgainstPolicy(policy: Policy, request: OpsRequest): Verdict {
  const env = request.environment;
  try {
    environmentOf(policy, env);
    for (const service of request.services) workloadOf(policy, env, service);
    for (const step of request.plan) {
      const verdict = checkStep(policy, request, step);
      if (!verdict.ok) return verdict;
    }
  } catch (err) {
    if (err instanceof UnknownTarget) return no(`the policy no longer allows it: ${err.message}`);
    throw err;
  }
  return { ok: true };
}

function checkStep(policy: Policy, request: OpsRequest, step: PlanStep): Verdict {
  const env = request.environment;
  if (step.kind === 'backup' || step.kind === 'restore') {
    const verb = step.kind === 'backup' ? 'deploy' : 'restore';
    if (request.verb !== verb || step.service !== env) return no(`a ${step.kind} step out of place`);
    return policy.backups[env] ? { ok: true } : no(`the policy no longer has backups for ${env}`);
  }
  if (step.kind === 'maintenance') {
    return request.verb === 'maintenance' && step.service === env
      ? { ok: true }
      : no('a maintenance step out of place');
  }
  if (!request.services.includes(step.service))
    return no(`the plan touches ${step.service}, which was not asked for`);
  const workload = workloadOf(policy, env, step.service);
  switch (step.kind) {
    case 'scale': {
      const bounds = checkReplicaBounds(policy, env, step.service, step.to);
      return bounds.ok ? bounds : no(`the policy no longer allows it: ${bounds.reason}`);
    }
    case 'switch':
      return workload.kind === 'blue-green' && step.serviceName === workload.serviceName
        ? { ok: true }
        : no(
            `${step.service} in ${env} is not switched as planned by the policy (not blue/green, or another Service)`,
          );
    case 'deploy': {
      const image = policy.services[step.service]?.image;
      if (!image || repositoryOf(step.toImage) !== image)
        return no(`the policy no longer lets ${step.service} take images from ${repositoryOf(step.toImage)}`);
      const deployment =
        workload.kind === 'blue-green' && step.blueGreen
          ? workload.deployments[step.blueGreen.idle]
          : workload.kind === 'deployment' && !step.blueGreen
            ? workload.deployment
            : undefined;
      return deployment === step.deployment
        ? { ok: true }
        : no(
            `${step.service} in ${env} is not deployed as planned (the policy changed its strategy or names)`,
          );
    }
    case 'rollback':
      return workload.kind === 'deployment' && step.deployment === workload.deployment
        ? { ok: true }
        : no(`${step.service} in ${env} has no rolling deployment ${step.deployment} in the policy`);
  }
}
