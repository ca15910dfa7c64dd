import type { EnvironmentName, Policy, ServicePolicy } from '../../src/config/policy';
import { applyDefaults } from './defaults';
import { deterministicUid } from './store';
import { clone, isoSeconds, rec, type JsonRecord, type KubeObject } from './types';
import { controllerRef, POD_TEMPLATE_HASH, REVISION, templateHash } from './workload';

/**
 * The Azora platform as the infrastructure guide describes it, derived from the policy only:
 * the same policy always gives the same objects (names, uids, images, timestamps relative to
 * `now`), so tests and the sandbox see one topology. Pods are not part of it; the controller
 * starts them when the cluster boots.
 */

export interface SeedOptions {
  /** The cluster's "now" in ms; history timestamps are placed before it. */
  now: number;
}

export const REGISTRY = 'registry.azora.world/azora';
/** Release history of every app: the rolling environments run the last one. */
export const HISTORY_VERSIONS = ['v1.4.0', 'v1.4.1', 'v1.5.0'];
/** What the idle colour of a blue-green environment has been prepared with. */
export const GREEN_VERSION = 'v1.5.1';
export const POSTGRES_IMAGE = 'postgres:15.6';

const DAY = 24 * 60 * 60 * 1000;

/** Resources per service from the infrastructure guide; others get the guide's general default. */
const GUIDE_RESOURCES: Record<string, { cpu: string; memory: string }> = {
  'api-gateway': { cpu: '500m', memory: '512Mi' },
  auth: { cpu: '250m', memory: '256Mi' },
  education: { cpu: '500m', memory: '512Mi' },
  payment: { cpu: '500m', memory: '512Mi' },
};
const DEFAULT_RESOURCES = { cpu: '250m', memory: '256Mi' };
/** Limits as the guide's cost section pairs them with requests (2x). */
const DOUBLE: Record<string, string> = { '250m': '500m', '500m': '1', '256Mi': '512Mi', '512Mi': '1Gi' };

export function boundsFor(svc: ServicePolicy, env: EnvironmentName): { min: number; max: number } {
  return svc.environments[env]?.replicas ?? svc.replicas;
}

function meta(
  kind: string,
  name: string,
  namespace: string | undefined,
  createdAt: number,
  extra: Partial<KubeObject['metadata']> = {},
): KubeObject['metadata'] {
  return {
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    uid: deterministicUid(`seed/${kind}/${namespace ?? ''}/${name}`),
    resourceVersion: '',
    creationTimestamp: isoSeconds(createdAt),
    ...extra,
  };
}

function appTemplate(
  service: string,
  svc: ServicePolicy,
  env: EnvironmentName,
  labels: Record<string, string>,
  version: string,
): JsonRecord {
  const requests = GUIDE_RESOURCES[service] ?? DEFAULT_RESOURCES;
  const limits = {
    cpu: DOUBLE[requests.cpu] ?? requests.cpu,
    memory: DOUBLE[requests.memory] ?? requests.memory,
  };
  return {
    metadata: { labels },
    spec: {
      containers: [
        {
          name: service,
          image: `${REGISTRY}/${service}:${version}`,
          ports: [{ name: 'http', containerPort: svc.port, protocol: 'TCP' }],
          env: [
            { name: 'NODE_ENV', value: env },
            { name: 'PORT', value: String(svc.port) },
            { name: 'SERVICE_NAME', value: service },
          ],
          resources: { requests, limits },
          ...(svc.health
            ? {
                readinessProbe: {
                  httpGet: { path: svc.health, port: svc.port },
                  initialDelaySeconds: 5,
                  periodSeconds: 10,
                },
              }
            : {}),
        },
      ],
    },
  };
}

interface DeploymentSeed {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  replicas: number;
  /** Template per revision, oldest first; the last one is what the deployment runs. */
  templates: JsonRecord[];
  versions: string[];
  /** Creation time of each revision's ReplicaSet. */
  rolledOutAt: number[];
  createdAt: number;
}

/** A Deployment plus its ReplicaSet history, exactly as the controller would have left them. */
function deploymentWithHistory(seed: DeploymentSeed): KubeObject[] {
  const current = seed.templates[seed.templates.length - 1] ?? {};
  const lastVersion = seed.versions[seed.versions.length - 1] ?? '';
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta('Deployment', seed.name, seed.namespace, seed.createdAt, {
      labels: seed.labels,
      annotations: {
        [REVISION]: String(seed.templates.length),
        'kubernetes.io/change-cause': `release ${lastVersion}`,
      },
    }),
    spec: {
      replicas: seed.replicas,
      selector: { matchLabels: seed.labels },
      template: clone(current),
    },
  };
  applyDefaults(deployment);
  const objects: KubeObject[] = [deployment];
  seed.templates.forEach((raw, i) => {
    // Default the template the way the deployment's was, so the hash and equality match.
    const probe: KubeObject = { ...deployment, spec: { ...rec(deployment.spec), template: clone(raw) } };
    applyDefaults(probe);
    const template = clone(rec(rec(probe.spec).template));
    const hash = templateHash(template);
    const labels = { ...seed.labels, [POD_TEMPLATE_HASH]: hash };
    template.metadata = { ...rec(template.metadata), labels };
    const newest = i === seed.templates.length - 1;
    objects.push({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: meta(
        'ReplicaSet',
        `${seed.name}-${hash}`,
        seed.namespace,
        seed.rolledOutAt[i] ?? seed.createdAt,
        {
          labels,
          annotations: {
            [REVISION]: String(i + 1),
            'kubernetes.io/change-cause': `release ${seed.versions[i] ?? ''}`,
          },
          ownerReferences: [controllerRef(deployment)],
        },
      ),
      spec: {
        replicas: newest ? seed.replicas : 0,
        minReadySeconds: 0,
        selector: { matchLabels: labels },
        template,
      },
    });
  });
  return objects;
}

function service(
  namespace: string,
  name: string,
  selector: Record<string, string>,
  port: number,
  createdAt: number,
  headless = false,
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta('Service', name, namespace, createdAt, { labels: { app: selector.app ?? name } }),
    spec: {
      selector,
      ports: [{ name: headless ? 'postgres' : 'http', port, targetPort: port, protocol: 'TCP' }],
      ...(headless ? { clusterIP: 'None', clusterIPs: ['None'] } : {}),
    },
  };
}

function hpa(
  namespace: string,
  name: string,
  bounds: { min: number; max: number },
  createdAt: number,
): KubeObject {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: meta('HorizontalPodAutoscaler', name, namespace, createdAt),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: Math.max(1, bounds.min),
      maxReplicas: bounds.max,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ],
    },
  };
}

function statefulSet(
  namespace: string,
  name: string,
  replicas: number,
  port: number,
  createdAt: number,
): KubeObject {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: meta('StatefulSet', name, namespace, createdAt, { labels }),
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'postgres',
              image: POSTGRES_IMAGE,
              ports: [{ name: 'postgres', containerPort: port, protocol: 'TCP' }],
              env: [
                { name: 'POSTGRES_DB', value: 'azora' },
                { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
              ],
              resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } },
            },
          ],
        },
      },
    },
  };
}

export function seedTopology(policy: Policy, options: SeedOptions): KubeObject[] {
  const { now } = options;
  const createdAt = now - 30 * DAY;
  const objects: KubeObject[] = [];
  const namespaces = new Set<string>(['default', 'monitoring']);
  for (const env of Object.values(policy.environments)) if (env) namespaces.add(env.namespace);
  for (const ns of [...namespaces].sort()) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: meta('Namespace', ns, undefined, createdAt - DAY),
    });
  }

  const envs = Object.entries(policy.environments).sort(([a], [b]) => a.localeCompare(b));
  for (const [envName, env] of envs) {
    if (!env) continue;
    const environment = envName as EnvironmentName;
    const ns = env.namespace;
    for (const [name, svc] of Object.entries(policy.services).sort(([a], [b]) => a.localeCompare(b))) {
      const bounds = boundsFor(svc, environment);
      if (svc.deployment) {
        const app = svc.deployment;
        if (env.strategy === 'rolling') {
          const labels = { app };
          objects.push(
            ...deploymentWithHistory({
              namespace: ns,
              name: app,
              labels,
              replicas: bounds.min,
              templates: HISTORY_VERSIONS.map((v) => appTemplate(name, svc, environment, labels, v)),
              versions: HISTORY_VERSIONS,
              rolledOutAt: [now - 10 * DAY, now - 5 * DAY, now - 2 * DAY],
              createdAt,
            }),
            service(ns, app, { app }, svc.port, createdAt),
          );
        } else {
          const blue = { app, version: 'blue' };
          const green = { app, version: 'green' };
          objects.push(
            ...deploymentWithHistory({
              namespace: ns,
              name: `${app}-blue`,
              labels: blue,
              replicas: bounds.min,
              templates: HISTORY_VERSIONS.map((v) => appTemplate(name, svc, environment, blue, v)),
              versions: HISTORY_VERSIONS,
              rolledOutAt: [now - 21 * DAY, now - 14 * DAY, now - 7 * DAY],
              createdAt,
            }),
            ...deploymentWithHistory({
              namespace: ns,
              name: `${app}-green`,
              labels: green,
              replicas: bounds.min,
              templates: [appTemplate(name, svc, environment, green, GREEN_VERSION)],
              versions: [GREEN_VERSION],
              rolledOutAt: [now - DAY],
              createdAt,
            }),
            service(ns, app, blue, svc.port, createdAt),
            hpa(ns, `${app}-blue`, bounds, createdAt),
            hpa(ns, `${app}-green`, bounds, createdAt),
          );
        }
      }
      if (svc.statefulset) {
        const replicas = environment === 'production' ? Math.max(1, bounds.min) : bounds.min;
        objects.push(
          statefulSet(ns, svc.statefulset, replicas, svc.port, createdAt),
          service(ns, svc.statefulset, { app: svc.statefulset }, svc.port, createdAt, true),
        );
      }
    }
    const hasPrimary = Object.values(policy.services).some((s) => s.statefulset === 'postgres');
    if (!hasPrimary) {
      objects.push(
        statefulSet(ns, 'postgres', 1, 5432, createdAt),
        service(ns, 'postgres', { app: 'postgres' }, 5432, createdAt, true),
      );
    }
  }
  for (const obj of objects) applyDefaults(obj);
  return objects;
}
