import type { ConfigurationOptions, KubeConfig, ObservableMiddleware } from '@kubernetes/client-node';
import {
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CoreV1Api,
  Observable,
  PatchStrategy,
  VersionApi,
} from './client-node';
import type { Policy } from '../../config/policy';
import type { EnvironmentName } from '../domain/environment';
import { PooledKubeConfig } from './connections';

/** The API clients of one environment's cluster. */
export interface ClusterClients {
  config: KubeConfig;
  apps: AppsV1Api;
  core: CoreV1Api;
  autoscaling: AutoscalingV2Api;
  /** The bot's database Jobs (backups, restores). */
  batch: BatchV1Api;
  version: VersionApi;
}

export function clientsFor(config: KubeConfig): ClusterClients {
  return {
    config,
    apps: config.makeApiClient(AppsV1Api),
    core: config.makeApiClient(CoreV1Api),
    autoscaling: config.makeApiClient(AutoscalingV2Api),
    batch: config.makeApiClient(BatchV1Api),
    version: config.makeApiClient(VersionApi),
  };
}

/**
 * One KubeConfig per environment: the default loading rules (KUBECONFIG, ~/.kube/config,
 * in-cluster service account), switched to the environment's `context` when the policy
 * names one, since staging and production are usually separate clusters.
 */
export function loadClusterClients(
  policy: Policy,
  load: (config: KubeConfig) => void = (c) => c.loadFromDefault(),
): Record<EnvironmentName, ClusterClients> {
  const result: Partial<Record<EnvironmentName, ClusterClients>> = {};
  for (const [env, environment] of Object.entries(policy.environments) as [
    EnvironmentName,
    { context?: string },
  ][]) {
    const config = new PooledKubeConfig();
    load(config);
    if (environment.context) {
      if (!config.getContextObject(environment.context)) {
        throw new Error(
          `kubeconfig has no context '${environment.context}' (policy environments.${env}.context)`,
        );
      }
      config.setCurrentContext(environment.context);
    }
    result[env] = clientsFor(config);
  }
  return result as Record<EnvironmentName, ClusterClients>;
}

const pass = <T>(value: T) => new Observable(Promise.resolve(value));

/**
 * Per-call options: a deadline that aborts the HTTP request itself (client-node has no
 * timeout of its own) and, for PATCH, the content type that says which patch it is.
 */
export function callOptions(timeoutMs: number, patch?: 'merge' | 'strategic' | 'json'): ConfigurationOptions {
  const middleware: ObservableMiddleware[] = [
    {
      pre: (context) => {
        context.setSignal(AbortSignal.timeout(timeoutMs));
        if (patch) context.setHeaderParam('Content-Type', PATCH_TYPES[patch]);
        return pass(context);
      },
      post: (response) => pass(response),
    },
  ];
  return { middleware, middlewareMergeStrategy: 'append' };
}

const PATCH_TYPES = {
  merge: PatchStrategy.MergePatch,
  strategic: PatchStrategy.StrategicMergePatch,
  json: PatchStrategy.JsonPatch,
} as const;
