import type { Colour } from '../kernel/domain/environment';
import { Refusal } from '../kernel/domain/refusal';
import type { ClusterPort } from '../kernel/kubernetes/port';
import type { Policy } from '../config/policy';
import type { EnvironmentName } from '../commands/domain/types';
import { checkCommandFits, servicesOf, type ChangeCommand } from './domain/fit';
import type { DeployStep, PlanStep } from './domain/types';
import { otherColour, serviceOf, workloadOf } from '../kernel/domain/topology';
import { imageFor, versionOf } from '../kernel/domain/release';
import { environmentOfBackup } from '../backups/domain/job';
import { colourImages, previousLive, promotionProblem, releaseImageOf } from '../releases';

export { servicesOf, type ChangeCommand } from './domain/fit';

/** What the change will do, per service, computed from the live cluster. */
export async function planChange(
  kube: ClusterPort,
  policy: Policy,
  command: ChangeCommand,
  only?: string[],
  /** Per service, the colour to switch it to (a switch back), instead of the command's. */
  targets?: Readonly<Record<string, Colour>>,
  /** Whether the requester's `force` counts (they are an approver): a deploy skips the promotion rule then. */
  forceCounts = false,
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
  const fits = checkCommandFits(policy, command, only);
  if (!fits.ok) throw new Refusal('plan', fits.reason);

  if (command.verb === 'scale') {
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

  if (command.verb === 'deploy') {
    const deploy = await planDeploy(kube, policy, command, forceCounts);
    const backupFirst = policy.releases.backupFirst.includes(env) && policy.backups[env] !== undefined;
    return backupFirst ? [{ kind: 'backup', service: env }, deploy] : [deploy];
  }
  if (command.verb === 'restore') return [await planRestore(kube, policy, command)];

  if (command.verb === 'switch') {
    const steps: PlanStep[] = [];
    for (const service of services) {
      const workload = workloadOf(policy, env, service);
      if (workload.kind !== 'blue-green')
        throw new Refusal('plan', `${service} in ${env} is not deployed blue/green`);
      const from = await kube.activeColour(env, workload);
      const to = targets?.[service] ?? command.colour;
      if (from === to) continue;
      const images = await colourImages(kube, policy, env, workload);
      steps.push({
        kind: 'switch',
        service,
        serviceName: workload.serviceName,
        from,
        to,
        fromImage: images[from],
        toImage: images[to],
      });
    }
    if (steps.length === 0) {
      const wanted = targets ? 'the colours asked for' : command.colour;
      throw new Refusal('plan', `${services.join(', ')} already serve ${wanted} in ${env}`);
    }
    return steps;
  }

  const planned = await Promise.all(
    services.map(async (service): Promise<PlanStep | Error> => {
      const target = await kube.planRollback(env, service, command.toRevision);
      if (target.kind === 'colour')
        return planColourRollback(kube, policy, env, service).catch((e: Error) => e);
      const { kind: _revision, ...revision } = target;
      return { kind: 'rollback', service, ...revision };
    }),
  );
  const refused = planned.filter((p): p is Refusal => p instanceof Refusal);
  const unexpected = planned.find((p) => p instanceof Error && !(p instanceof Refusal));
  if (unexpected) throw unexpected;
  if (refused.length > 0) {
    const others =
      services.length > 1 ? ' Nothing was planned; roll back the other services one by one.' : '';
    throw new Refusal('plan', refused.map((r) => r.message).join(' ') + others);
  }
  return planned as PlanStep[];
}

/**
 * A blue/green rollback goes back to the colour that was live before the current one, as
 * the release history on the Service says, and only while it still holds the version it
 * served then. Otherwise it refuses and names the switch that would do it anyway.
 */
async function planColourRollback(
  kube: ClusterPort,
  policy: Policy,
  env: EnvironmentName,
  service: string,
): Promise<PlanStep> {
  const workload = workloadOf(policy, env, service);
  if (workload.kind !== 'blue-green') throw new Refusal('plan', `${service} in ${env} is not blue/green`);
  const live = await kube.activeColour(env, workload);
  const idle = otherColour(live);
  const [images, history] = await Promise.all([
    colourImages(kube, policy, env, workload),
    kube.releases(env, service),
  ]);
  const back = previousLive(history, live, images[idle]);
  if (!back.ok) {
    throw new Refusal(
      'plan',
      `${service}: not rolling back, ${back.reason}. To send its traffic to ${idle} anyway: \`/azora switch ${env} ${idle} ${service}\`.`,
    );
  }
  return {
    kind: 'switch',
    service,
    serviceName: workload.serviceName,
    from: live,
    to: back.colour,
    fromImage: images[live],
    toImage: back.image,
  };
}

/**
 * A deploy: the image from the policy's repository, the promotion rule (a version goes to
 * an approval environment only after it succeeded where none is needed), and what the
 * deploy will change, read from the live cluster.
 */
async function planDeploy(
  kube: ClusterPort,
  policy: Policy,
  command: Extract<ChangeCommand, { verb: 'deploy' }>,
  forceCounts: boolean,
): Promise<DeployStep> {
  const { environment: env, service, version } = command;
  const svc = serviceOf(policy, service);
  if (!svc.image)
    throw new Refusal(
      'plan',
      `${service} has no image repository in the policy (services.${service}.image): the bot does not deploy it`,
    );
  const wanted = imageFor(svc.image, version);
  if ('refused' in wanted) throw new Refusal('plan', wanted.refused);
  const { image } = wanted;
  const workload = workloadOf(policy, env, service);
  if (workload.kind === 'statefulset')
    throw new Refusal('plan', `${service} is a statefulset; the bot deploys apps only`);

  let forced = false;
  const promotion = await promotionProblem(kube, policy, env, service, image);
  if (promotion) {
    if (!(command.force && forceCounts)) {
      const how = command.force
        ? '`force` counts only when an approver asks for it'
        : 'an approver can add `force` to deploy it anyway';
      throw new Refusal(
        'plan',
        `${promotion.why}: deploy it there first (\`/azora deploy ${promotion.proving} ${service} ${version}\`); ${how}`,
      );
    }
    forced = true;
  }

  if (workload.kind === 'deployment') {
    const current = releaseImageOf(
      policy,
      service,
      await kube.readDeployment(env, workload.namespace, workload.deployment),
    );
    if (current === image) throw new Refusal('plan', `${service} in ${env} already runs ${versionOf(image)}`);
    return {
      kind: 'deploy',
      service,
      deployment: workload.deployment,
      fromImage: current,
      toImage: image,
      ...(forced ? { forced } : {}),
    };
  }
  const live = await kube.activeColour(env, workload);
  const idle = otherColour(live);
  const images = await colourImages(kube, policy, env, workload);
  if (images[live] === image)
    throw new Refusal('plan', `${service} in ${env} already serves ${versionOf(image)} on ${live}`);
  const state = await kube.serviceState(env, workload);
  const replicas = state.workloads.find((w) => w.colour === live)?.desired ?? 0;
  if (replicas < 1)
    throw new Refusal('plan', `${service}: the live colour ${live} runs no replicas to match`);
  return {
    kind: 'deploy',
    service,
    deployment: workload.deployments[idle],
    fromImage: images[idle],
    toImage: image,
    blueGreen: { serviceName: workload.serviceName, live, liveImage: images[live], idle, replicas },
    ...(forced ? { forced } : {}),
  };
}

/** How long a failed restore's window stays open at most, past the Job's own deadline. */
export const RESTORE_WINDOW_MARGIN_MS = 12 * 3_600_000;

/**
 * A restore names a backup of the same environment that the bot made and that succeeded:
 * anything else (a typo, another environment's dump, a failed or running backup) is refused
 * before anyone is asked to approve it.
 */
async function planRestore(
  kube: ClusterPort,
  policy: Policy,
  command: Extract<ChangeCommand, { verb: 'restore' }>,
): Promise<PlanStep> {
  const { environment: env, backup } = command;
  const template = policy.backups[env];
  if (!template) throw new Refusal('plan', `${env} has no backups in the policy (backups.${env})`);
  const from = environmentOfBackup(backup);
  if (from !== env)
    throw new Refusal(
      'plan',
      `${backup} is ${from ? `a ${from} backup` : 'not a backup id'}; a restore stays in its own environment`,
    );
  const job = (await kube.listJobs(env, 'backup')).find((j) => j.backupId === backup);
  if (!job)
    throw new Refusal('plan', `there is no backup ${backup} in ${env}; see \`/azora backups ${env}\``);
  if (job.status !== 'succeeded')
    throw new Refusal(
      'plan',
      `backup ${backup} ${job.status === 'failed' ? 'failed' : 'is still running'}; restore another one`,
    );
  // The window outlasts the restore: a successful one closes it at once, and a failed one
  // must stay open (alerts silenced) until a person has looked, not end at the Job's deadline.
  return {
    kind: 'restore',
    service: env,
    backupId: backup,
    windowMs: template.deadline + RESTORE_WINDOW_MARGIN_MS,
  };
}
