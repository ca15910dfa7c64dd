import type { EnvironmentName, Policy, ServicePolicy } from '../../src/config/policy';
import { appendRelease, RELEASES_ANNOTATION, type ReleaseRecord } from '../../src/kernel/domain/release';
import { SANDBOX_APPROVERS, SANDBOX_ENGINEER, SANDBOX_REGISTRY } from '../users';
import { applyDefaults } from './defaults';
import { SERVER_VERSION } from './discovery';
import { hostIpOf, NODES } from './pods';
import { deterministicUid } from './store';
import { clone, isoSeconds, rec, type JsonRecord, type KubeObject } from './types';
import { controllerRef, POD_TEMPLATE_HASH, REVISION, templateHash } from './workload';

/**
 * The Azora platform as the infrastructure guide describes it, derived from the policy only:
 * the same policy always gives the same objects (names, uids, images, timestamps relative to
 * `now`), so tests and the sandbox see one topology. Pods are not part of it; the controller
 * starts them when the cluster boots.
 *
 * It tells a release story the bot can act on. Staging (rolling) went v1.4.0, v1.4.1, then
 * v1.5.0 two days ago. Production (blue/green): blue served v1.4.0 until green went live
 * with v1.4.1 fourteen days ago, and blue has served v1.5.0 since seven days ago, so green
 * still holds v1.4.1, the version it served when it was live, and a rollback can go back
 * to it. Both stories are also written where the bot keeps them: the release history
 * annotation of the Deployment (rolling) and of the Service (blue/green).
 */

export interface SeedOptions {
  /** The cluster's "now" in ms; history timestamps are placed before it. */
  now: number;
}

export const REGISTRY = SANDBOX_REGISTRY;
/** Release history of every app in the rolling environments, which run the last one. */
export const HISTORY_VERSIONS = ['v1.4.0', 'v1.4.1', 'v1.5.0'];
/** What the live colour (blue) of a blue-green environment serves, since 7 days. */
export const LIVE_VERSION = 'v1.5.0';
/** What the idle colour (green) holds: the version it served when it was live, 14 to 7 days ago. */
export const GREEN_VERSION = 'v1.4.1';
/** The ReplicaSet history of each colour, oldest first. */
export const BLUE_VERSIONS = ['v1.4.0', LIVE_VERSION];
export const GREEN_VERSIONS = ['v1.3.2', GREEN_VERSION];
export const POSTGRES_IMAGE = 'postgres:15.6';

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

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
          image: imageOf(service, svc, version),
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

/** The image of a version: from the policy's repository for the service, else the guide's registry. */
function imageOf(service: string, svc: ServicePolicy, version: string): string {
  return `${svc.image ?? `${REGISTRY}/${service}`}:${version}`;
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
  annotations?: Record<string, string>;
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
        ...seed.annotations,
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
  annotations?: Record<string, string>,
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta('Service', name, namespace, createdAt, {
      labels: { app: selector.app ?? name },
      ...(annotations ? { annotations } : {}),
    }),
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

const [FIRST_APPROVER, SECOND_APPROVER] = SANDBOX_APPROVERS;

/**
 * A blue/green service's releases, as the bot records them on its Service: green went live
 * with v1.4.1 fourteen days ago (blue had served v1.4.0), blue with v1.5.0 seven days ago.
 */
function blueGreenHistory(policy: Policy, service: string, svc: ServicePolicy, now: number): string {
  const image = (version: string) => imageOf(service, svc, version);
  const records: ReleaseRecord[] = [
    {
      id: 'seed-1',
      action: 'deploy',
      version: GREEN_VERSION,
      image: image(GREEN_VERSION),
      colour: 'green',
      previous: { colour: 'blue', version: 'v1.4.0', image: image('v1.4.0') },
      requester: SANDBOX_ENGINEER,
      approver: FIRST_APPROVER,
      start: now - 14 * DAY - 20 * MINUTE,
      end: now - 14 * DAY,
      result: 'succeeded',
    },
    {
      id: 'seed-2',
      action: 'deploy',
      version: LIVE_VERSION,
      image: image(LIVE_VERSION),
      colour: 'blue',
      previous: { colour: 'green', version: GREEN_VERSION, image: image(GREEN_VERSION) },
      requester: SANDBOX_ENGINEER,
      approver: SECOND_APPROVER,
      start: now - 7 * DAY - 20 * MINUTE,
      end: now - 7 * DAY,
      result: 'succeeded',
    },
  ];
  return historyValue(policy, records);
}

/** A rolling service's last release, as the bot records it on its Deployment: v1.5.0 two days ago. */
function rollingHistory(policy: Policy, service: string, svc: ServicePolicy, now: number): string {
  const [current, previous] = [...HISTORY_VERSIONS].reverse();
  if (current === undefined || previous === undefined) return historyValue(policy, []);
  const record: ReleaseRecord = {
    id: 'seed-1',
    action: 'deploy',
    version: current,
    image: imageOf(service, svc, current),
    previous: { version: previous, image: imageOf(service, svc, previous) },
    requester: SANDBOX_ENGINEER,
    start: now - 2 * DAY,
    end: now - 2 * DAY + 2 * MINUTE,
    result: 'succeeded',
  };
  return historyValue(policy, [record]);
}

function historyValue(policy: Policy, records: ReleaseRecord[]): string {
  const limit = policy.releases.history;
  let value = '[]';
  let kept: ReleaseRecord[] = [];
  for (const record of records) {
    value = appendRelease(kept, record, limit);
    kept = [...kept, record];
  }
  return value;
}

/**
 * The guide's production nodes (n1-standard-4), one per zone, ready and schedulable, each
 * with the heartbeat lease its kubelet renews (as of the cluster's start).
 */
function node(name: string, index: number, createdAt: number, now: number): KubeObject[] {
  const capacity = { cpu: '4', memory: '15368960Ki', pods: '110', 'ephemeral-storage': '98831908Ki' };
  return [
    {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: meta('Node', name, undefined, createdAt, {
        labels: {
          'kubernetes.io/arch': 'amd64',
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'node.kubernetes.io/instance-type': 'n1-standard-4',
          'topology.kubernetes.io/zone': `europe-west1-${'bcd'[index % 3]}`,
        },
      }),
      spec: { podCIDR: `10.244.${index}.0/24`, podCIDRs: [`10.244.${index}.0/24`] },
      status: {
        capacity,
        allocatable: { ...capacity, cpu: '3920m', memory: '12700160Ki' },
        conditions: [
          [
            'MemoryPressure',
            'False',
            'KubeletHasSufficientMemory',
            'kubelet has sufficient memory available',
          ],
          ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
          ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
          ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
        ].map(([type, status, reason, message]) => ({
          type,
          status,
          reason,
          message,
          lastHeartbeatTime: isoSeconds(now),
          lastTransitionTime: isoSeconds(createdAt),
        })),
        addresses: [
          { type: 'InternalIP', address: hostIpOf(name) },
          { type: 'Hostname', address: name },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
        nodeInfo: {
          machineID: deterministicUid(`machine/${name}`).replace(/-/g, ''),
          systemUUID: deterministicUid(`system/${name}`),
          bootID: deterministicUid(`boot/${name}`),
          kernelVersion: '6.1.0-28-cloud-amd64',
          osImage: 'Debian GNU/Linux 12 (bookworm)',
          containerRuntimeVersion: 'containerd://1.7.24',
          kubeletVersion: SERVER_VERSION.gitVersion.replace(/-.*$/, ''),
          kubeProxyVersion: SERVER_VERSION.gitVersion.replace(/-.*$/, ''),
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
      },
    },
    {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: meta('Lease', name, 'kube-node-lease', createdAt),
      spec: {
        holderIdentity: name,
        leaseDurationSeconds: 40,
        renewTime: new Date(now).toISOString().replace('Z', '000Z'),
      },
    },
  ];
}

export function seedTopology(policy: Policy, options: SeedOptions): KubeObject[] {
  const { now } = options;
  const createdAt = now - 30 * DAY;
  // Releases are placed from the hour: clusters started moments apart (a test comparing two)
  // get the same history annotations.
  const released = Math.floor(now / HOUR) * HOUR;
  const objects: KubeObject[] = [];
  const namespaces = new Set<string>(['default', 'kube-node-lease', 'monitoring']);
  for (const env of Object.values(policy.environments)) if (env) namespaces.add(env.namespace);
  for (const ns of [...namespaces].sort()) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: meta('Namespace', ns, undefined, createdAt - DAY),
    });
  }

  NODES.forEach((name, index) => objects.push(...node(name, index, createdAt - DAY, now)));

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
              rolledOutAt: [released - 10 * DAY, released - 5 * DAY, released - 2 * DAY],
              createdAt,
              annotations: { [RELEASES_ANNOTATION]: rollingHistory(policy, name, svc, released) },
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
              templates: BLUE_VERSIONS.map((v) => appTemplate(name, svc, environment, blue, v)),
              versions: BLUE_VERSIONS,
              rolledOutAt: [released - 21 * DAY - 20 * MINUTE, released - 7 * DAY - 20 * MINUTE],
              createdAt,
            }),
            ...deploymentWithHistory({
              namespace: ns,
              name: `${app}-green`,
              labels: green,
              replicas: bounds.min,
              templates: GREEN_VERSIONS.map((v) => appTemplate(name, svc, environment, green, v)),
              versions: GREEN_VERSIONS,
              rolledOutAt: [released - 28 * DAY - 20 * MINUTE, released - 14 * DAY - 20 * MINUTE],
              createdAt,
            }),
            service(ns, app, blue, svc.port, createdAt, false, {
              [RELEASES_ANNOTATION]: blueGreenHistory(policy, name, svc, released),
            }),
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
