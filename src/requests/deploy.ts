import type { Deps } from '../deps';
import { formatDuration } from '../kernel/domain/duration';
import { KubeError } from '../kernel/kubernetes/errors';
import { versionOf, type ReleaseRecord } from '../kernel/domain/release';
import { serviceOf, workloadOf } from '../kernel/domain/topology';
import { indexRelease, recordRelease, releaseImageOf } from '../releases';
import type { DeployStep, OpsRequest } from './domain/types';
import { StalePlan, StepFailed } from './stale';
import { releaseRecord } from './release-record';

/** The stages of a deploy, timed, for its line in the thread. */
class Stages {
  private readonly done: string[] = [];
  private started: number;

  constructor(private readonly now: () => number) {
    this.started = now();
  }

  /** Runs one stage; a failure names it. */
  async run<T>(name: string, work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      this.done.push(`${name} ${formatDuration(Math.max(0, this.now() - this.started))}`);
      this.started = this.now();
      return result;
    } catch (err) {
      // A blip of the API server is retried by the job, which carries on from here.
      if (err instanceof KubeError && err.transient) throw err;
      throw new StepFailed(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  summary(): string {
    return this.done.join(', ');
  }
}

/** The image the deploy's container runs now. */
async function imageNow(deps: Deps, request: OpsRequest, step: DeployStep): Promise<string> {
  const { namespace } = workloadOf(deps.policy, request.environment, step.service);
  const deployment = await deps.kube.readDeployment(request.environment, namespace, step.deployment);
  return releaseImageOf(deps.policy, step.service, deployment);
}

function recordOf(request: OpsRequest, step: DeployStep, now: number): ReleaseRecord {
  const bg = step.blueGreen;
  return releaseRecord(
    request,
    'deploy',
    { image: step.toImage, ...(bg ? { colour: bg.idle } : {}) },
    bg ? { image: bg.liveImage, colour: bg.live } : { image: step.fromImage },
    now,
  );
}

/** Health and the policy's smoke requests, through `probe`; the first failure throws. */
async function checkApp(
  deps: Deps,
  step: DeployStep,
  probe: (path: string) => Promise<Array<{ where: string; status: number; detail: string }>>,
): Promise<string> {
  const svc = serviceOf(deps.policy, step.service);
  const checks = [
    ...(svc.health ? [{ path: svc.health, status: 200, what: 'health' }] : []),
    ...svc.smoke.map((s) => ({ ...s, what: 'smoke' })),
  ];
  for (const check of checks) {
    for (const answer of await probe(check.path)) {
      const ok =
        check.what === 'health'
          ? answer.status >= 200 && answer.status < 300
          : answer.status === check.status;
      if (!ok) {
        const got = answer.status === 0 ? 'no answer' : `status ${answer.status}`;
        throw new Error(
          `${check.what} ${check.path} on ${answer.where}: ${got}, expected ${check.what === 'health' ? '2xx' : check.status}${answer.detail ? ` (${answer.detail.slice(0, 120)})` : ''}`,
        );
      }
    }
  }
  return checks.length
    ? `${checks.length} check${checks.length > 1 ? 's' : ''} passed`
    : 'no checks in the policy';
}

/**
 * Applies a pinned deploy. Rolling: the new image, the rollout, health and smoke through
 * the Service. Blue/green: the idle colour gets the image and the live colour's replicas,
 * is checked pod by pod on its own, and only then takes the traffic; a failure before the
 * switch leaves live traffic where it was. Safe to run again after a crash: every stage
 * is a no-op once done, and a switch already made is recognised.
 */
export async function applyDeploy(deps: Deps, request: OpsRequest, step: DeployStep): Promise<string> {
  const env = request.environment;
  const { kube, timing } = deps;
  const workload = workloadOf(deps.policy, env, step.service);
  const version = versionOf(step.toImage);
  const stages = new Stages(deps.now);
  const running = await imageNow(deps, request, step);
  const bg = step.blueGreen;

  if (bg && workload.kind === 'blue-green') {
    const live = await kube.activeColour(env, workload);
    if (live === bg.idle && running === step.toImage) {
      // An earlier attempt switched (the record went onto the Service in the same patch)
      // and was lost before it indexed the record: indexed now, once (by the request's id).
      const made = (await kube.releases(env, step.service)).find((r) => r.id === request.id);
      if (made) await indexRelease(deps, env, step.service, made);
      return `${step.service}: ${version} already live on ${bg.idle} (a retried job)`;
    }
    if (live !== bg.live)
      throw new StalePlan(`${step.service} serves ${live} now, not ${bg.live} as planned`);
  }
  if (![step.fromImage, step.toImage].includes(running)) {
    throw new StalePlan(`${step.deployment} runs ${running} now, not ${step.fromImage} as planned`);
  }

  const fail = async (err: unknown): Promise<never> => {
    const where = err instanceof Error ? err.message : String(err);
    const liveNow =
      workload.kind === 'blue-green'
        ? await kube.activeColour(env, workload).catch(() => undefined)
        : undefined;
    // Traffic moved before the failure (the endpoints did not follow in time, say): the
    // version is live, and its record says so, as the switch's patch wrote it, so that a
    // rollback and the switch back know where traffic is. Otherwise it failed, untouched.
    const moved = bg !== undefined && liveNow === bg.idle;
    const record: ReleaseRecord = {
      ...recordOf(request, step, deps.now()),
      ...(moved ? { detail: `live, but ${where}` } : { result: 'failed', detail: where }),
    };
    await recordRelease(deps, env, step.service, record).catch((recordErr: Error) =>
      deps.logger.warn({ request: request.id, err: recordErr.message }, 'could not record a failed release'),
    );
    const untouched = !bg
      ? ''
      : liveNow === bg.live
        ? `; live traffic stays on ${bg.live} (${versionOf(bg.liveImage)})`
        : moved
          ? `; traffic is on ${bg.idle} (${version}) now, ${bg.live} still holds ${versionOf(bg.liveImage)}`
          : `; traffic is on ${liveNow ?? 'an unknown colour'} now`;
    throw new StepFailed(`${step.service} ${version} stopped at ${where}${untouched}`);
  };

  try {
    await stages.run('setting the image', () =>
      kube.setImage(env, step.service, step.deployment, step.toImage),
    );
    if (bg) {
      await stages.run(`scaling ${bg.idle} to ${bg.replicas}`, () =>
        kube.scaleDeployment(env, step.service, step.deployment, bg.replicas),
      );
    }
    await stages.run('rollout', () =>
      kube.waitForRollout(env, workload.namespace, step.deployment, timing.rolloutDeadlineMs),
    );
    if (bg) {
      const notReady = await kube.colourNotReady(env, step.service, bg.idle);
      if (notReady) throw new StepFailed(`readiness: ${notReady}`);
    }
    const checked = await stages.run(bg ? `checks on ${bg.idle}` : 'checks', () =>
      checkApp(deps, step, async (path) =>
        bg
          ? (await kube.probePods(env, step.service, step.deployment, path)).map((a) => ({
              where: a.pod,
              ...a,
            }))
          : [{ where: step.deployment, ...(await kube.probeService(env, step.service, path)) }],
      ),
    );
    if (!bg) {
      await recordRelease(deps, env, step.service, recordOf(request, step, deps.now()));
      return `${step.service}: ${versionOf(step.fromImage)} → *${version}* (${stages.summary()}) · ${checked}`;
    }
    const record = recordOf(request, step, deps.now());
    await stages.run(`switching traffic to ${bg.idle}`, () =>
      kube.switchColour(env, step.service, bg.idle, timing.endpointsDeadlineMs, record),
    );
    await indexRelease(deps, env, step.service, record);
    return `${step.service}: ${version} on ${bg.idle} (${stages.summary()}) · ${checked} · traffic ${bg.live} → *${bg.idle}*`;
  } catch (err) {
    if (err instanceof StalePlan || (err instanceof KubeError && err.transient)) throw err;
    return fail(err);
  }
}
