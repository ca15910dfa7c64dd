import type { V1Deployment, V1Service, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { Policy } from '../../config/policy';
import type { EnvironmentName } from '../domain/environment';
import {
  appendRelease,
  parseReleases,
  RELEASES_ANNOTATION,
  repositoryOf,
  type ReleaseRecord,
} from '../domain/release';
import { workloadOf, type Workload } from '../domain/topology';
import type { callOptions, ClusterClients } from './clients';
import { KubeError } from './errors';
import { probe, type ProbeAnswer } from './probe';
import { imageContainer, setImagePatch } from './set-image';

/** What the deploy operations use of the adapter (src/kernel/kubernetes/kubernetes.ts). */
export interface ClusterAccess {
  readonly policy: Policy;
  readonly timeoutMs: number;
  clients(env: EnvironmentName): ClusterClients;
  /** One API call with the request deadline, failures as KubeError. */
  call<T>(what: string, fn: (options: ReturnType<typeof callOptions>) => Promise<T>): Promise<T>;
  patchOptions(kind: 'merge' | 'strategic' | 'json'): ReturnType<typeof callOptions>;
  readDeployment(env: EnvironmentName, namespace: string, name: string): Promise<V1Deployment>;
  readService(env: EnvironmentName, workload: Extract<Workload, { kind: 'blue-green' }>): Promise<V1Service>;
  hpasByTarget(env: EnvironmentName, namespace: string): Promise<Map<string, V2HorizontalPodAutoscaler>>;
  deploymentsOf(env: EnvironmentName, service: string): string[];
}

/**
 * What a release does to a cluster beyond scale and switch: set an image as kubectl does,
 * size one colour, probe pods and Services through the API server's proxy, and keep the
 * release history on the cluster objects. The Kubernetes adapter delegates these here.
 */
export class DeployOps {
  constructor(private readonly k: ClusterAccess) {}

  /**
   * `kubectl set image deployment/<deployment> <container>=<image>`: the same strategic
   * merge patch, on the policy's container or the only one running the policy's repository.
   * Nothing is sent when that container runs `image` already.
   */
  async setImage(
    env: EnvironmentName,
    service: string,
    deployment: string,
    image: string,
  ): Promise<{ container: string; changed: boolean }> {
    const { namespace } = this.deploymentOf(env, service, deployment);
    const policy = this.k.policy.services[service]!;
    if (policy.image && repositoryOf(image) !== policy.image) {
      throw new KubeError(
        'precondition',
        `not setting ${image} on ${deployment}: ${service} takes images from ${policy.image} only (services.${service}.image)`,
      );
    }
    const live = await this.k.readDeployment(env, namespace, deployment);
    const container = imageContainer(live, service, policy);
    const name = container.name;
    if (container.image === image) return { container: name, changed: false };
    const { apps } = this.k.clients(env);
    await this.k.call(`setting the image of ${deployment} (container ${name}) to ${image}`, () =>
      apps.patchNamespacedDeployment(
        { name: deployment, namespace, body: setImagePatch(live, name, image) },
        this.k.patchOptions('strategic'),
      ),
    );
    return { container: name, changed: true };
  }

  /**
   * Sets one deployment's replicas through its scale subresource. When an HPA targets the
   * deployment, its minimum becomes `replicas` instead (its maximum at least that) and the
   * HPA keeps the deployment there; the replicas are set as well only when they are below
   * (an HPA does not scale a deployment up from 0). Nothing is sent for what is there already.
   */
  async scaleDeployment(
    env: EnvironmentName,
    service: string,
    deployment: string,
    replicas: number,
  ): Promise<void> {
    const { namespace } = this.deploymentOf(env, service, deployment);
    const { apps, autoscaling } = this.k.clients(env);
    const [hpa, live] = await Promise.all([
      this.k.hpasByTarget(env, namespace).then((hpas) => hpas.get(deployment)),
      this.k.readDeployment(env, namespace, deployment),
    ]);
    const current = live.spec?.replicas ?? 1;
    if (hpa) {
      const min = hpa.spec?.minReplicas ?? 1;
      const max = hpa.spec?.maxReplicas ?? min;
      const name = hpa.metadata!.name!;
      if (min !== replicas || max < replicas) {
        await this.k.call(`adjusting autoscaler ${name}`, () =>
          autoscaling.patchNamespacedHorizontalPodAutoscaler(
            {
              name,
              namespace,
              body: { spec: { minReplicas: replicas, maxReplicas: Math.max(max, replicas) } },
            },
            this.k.patchOptions('merge'),
          ),
        );
      }
      if (current >= replicas) return;
    } else if (current === replicas) {
      return;
    }
    await this.k.call(`scaling deployment ${deployment}`, () =>
      apps.patchNamespacedDeploymentScale(
        { name: deployment, namespace, body: { spec: { replicas } } },
        this.k.patchOptions('merge'),
      ),
    );
  }

  /**
   * GETs `path` on every pod of `deployment` (by its selector; pods being deleted are
   * skipped) through the API server's pod proxy, on the policy's port: each pod's status,
   * 0 when no answer came back.
   */
  async probePods(
    env: EnvironmentName,
    service: string,
    deployment: string,
    path: string,
  ): Promise<Array<{ pod: string; status: number; detail: string }>> {
    const { namespace } = this.deploymentOf(env, service, deployment);
    const { port } = this.k.policy.services[service]!;
    const live = await this.k.readDeployment(env, namespace, deployment);
    const labelSelector = selectorText(live.spec?.selector.matchLabels);
    const { core } = this.k.clients(env);
    const list = await this.k.call(`listing pods of ${deployment}`, (o) =>
      core.listNamespacedPod({ namespace, labelSelector }, o),
    );
    const pods = list.items
      .filter((p) => !p.metadata?.deletionTimestamp)
      .map((p) => p.metadata!.name!)
      .sort();
    if (pods.length === 0)
      throw new KubeError('not-found', `${deployment} in ${env} has no pods (selector ${labelSelector})`);
    return Promise.all(
      pods.map(async (pod) => ({
        pod,
        ...(await probe(this.k.timeoutMs, `GET ${path} on pod ${pod}`, (o) =>
          core.connectGetNamespacedPodProxyWithPath(
            { name: `${pod}:${port}`, namespace, path: path.replace(/^\//, '') },
            o,
          ),
        )),
      })),
    );
  }

  /** GETs `path` through the service proxy (what health() does): the status the app answered, 0 when none came back. */
  async probeService(env: EnvironmentName, service: string, path: string): Promise<ProbeAnswer> {
    const workload = workloadOf(this.k.policy, env, service);
    if (workload.kind === 'statefulset')
      throw new KubeError(
        'precondition',
        `${service} in ${env} is a statefulset: the bot probes no Service of it`,
      );
    const serviceName = workload.kind === 'blue-green' ? workload.serviceName : workload.deployment;
    const { port } = this.k.policy.services[service]!;
    const { core } = this.k.clients(env);
    return probe(this.k.timeoutMs, `GET ${path} on service ${serviceName}`, (o) =>
      core.connectGetNamespacedServiceProxyWithPath(
        { name: `${serviceName}:${port}`, namespace: workload.namespace, path: path.replace(/^\//, '') },
        o,
      ),
    );
  }

  /** The release history on the service's Service (blue/green) or Deployment (rolling), oldest first. */
  async releases(env: EnvironmentName, service: string): Promise<ReleaseRecord[]> {
    const holder = await this.readReleaseHolder(env, service);
    return parseReleases(holder.annotations?.[RELEASES_ANNOTATION]);
  }

  /**
   * Adds `record` to the history (replacing one with its id), the policy's `releases.history`
   * newest kept: a read, then a merge patch carrying the resourceVersion it was read at, so
   * a concurrent writer makes it fail with 409 and it starts over with what is there now.
   */
  async recordRelease(env: EnvironmentName, service: string, record: ReleaseRecord): Promise<void> {
    await onConflictRetry(async () => {
      const holder = await this.readReleaseHolder(env, service);
      const old = holder.annotations?.[RELEASES_ANNOTATION];
      const history = appendRelease(parseReleases(old), record, this.k.policy.releases.history);
      if (history === old) return;
      const body = {
        metadata: {
          resourceVersion: holder.resourceVersion,
          annotations: { [RELEASES_ANNOTATION]: history },
        },
      };
      const { name, namespace } = holder;
      const { core, apps } = this.k.clients(env);
      await this.k.call(`recording release ${record.id} on ${holder.kind} ${name}`, async () => {
        const options = this.k.patchOptions('merge');
        if (holder.kind === 'service') await core.patchNamespacedService({ name, namespace, body }, options);
        else await apps.patchNamespacedDeployment({ name, namespace, body }, options);
      });
    });
  }

  /** The object that keeps a service's release history, as read now. */
  private async readReleaseHolder(env: EnvironmentName, service: string) {
    const workload = workloadOf(this.k.policy, env, service);
    if (workload.kind === 'statefulset') {
      throw new KubeError(
        'precondition',
        `${service} in ${env} is a statefulset: the bot keeps release history only for deployments`,
      );
    }
    const { namespace } = workload;
    if (workload.kind === 'blue-green') {
      const { metadata } = await this.k.readService(env, workload);
      return { kind: 'service' as const, name: workload.serviceName, namespace, ...metaOf(metadata) };
    }
    const { metadata } = await this.k.readDeployment(env, namespace, workload.deployment);
    return { kind: 'deployment' as const, name: workload.deployment, namespace, ...metaOf(metadata) };
  }

  /** The workload of `service` whose deployment `deployment` is, refusing any other deployment. */
  private deploymentOf(env: EnvironmentName, service: string, deployment: string): Workload {
    const workload = workloadOf(this.k.policy, env, service);
    const own = this.k.deploymentsOf(env, service);
    if (!own.includes(deployment)) {
      throw new KubeError(
        'precondition',
        `${deployment} is not a deployment of ${service} in ${env} (${own.join(', ') || 'it has none'})`,
      );
    }
    return workload;
  }
}

/** Runs a read-modify-write again when another writer got in between (409), a few times. */
export async function onConflictRetry<T>(attempt: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof KubeError) || err.kind !== 'conflict' || i >= attempts) throw err;
    }
  }
}

const selectorText = (labels: Record<string, string> | undefined) =>
  Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

const metaOf = (
  metadata: { resourceVersion?: string; annotations?: Record<string, string> } | undefined,
) => ({
  resourceVersion: metadata?.resourceVersion,
  annotations: metadata?.annotations,
});
