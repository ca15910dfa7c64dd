import { fromLabelSelector, selectorToString } from './selectors';
import { arr, num, rec, str, stringMap, type KubeObject } from './types';

/**
 * Server-side printing. `kubectl get` asks for `as=Table` and, without one, prints only NAME
 * and AGE, so the simulator renders the columns the real API server would.
 */

interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  format?: string;
  description: string;
  priority: number;
  cell(obj: KubeObject, now: number): string | number;
}

/** apimachinery's duration.HumanDuration, as kubectl shows ages. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  const days = Math.floor(hours / 24) % 365;
  if (hours < 24 * 365 * 8) return days === 0 ? `${years}y` : `${years}y${days}d`;
  return `${years}y`;
}

const nameColumn: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
  cell: (o) => o.metadata.name,
};

const ageColumn: Column = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  cell: (o, now) => humanDuration(now - Date.parse(o.metadata.creationTimestamp)),
};

function count(obj: KubeObject, section: 'spec' | 'status', field: string): number {
  return num(rec(obj[section])[field]) ?? 0;
}

function templateContainers(obj: KubeObject): unknown[] {
  return arr(rec(rec(rec(obj.spec).template).spec).containers);
}

const containersColumn: Column = {
  name: 'Containers',
  type: 'string',
  description: 'Names of each container in the template.',
  priority: 1,
  cell: (o) =>
    templateContainers(o)
      .map((c) => str(rec(c).name) ?? '')
      .join(','),
};

const imagesColumn: Column = {
  name: 'Images',
  type: 'string',
  description: 'Images referenced by each container in the template.',
  priority: 1,
  cell: (o) =>
    templateContainers(o)
      .map((c) => str(rec(c).image) ?? '')
      .join(','),
};

const selectorColumn: Column = {
  name: 'Selector',
  type: 'string',
  description: 'Label selector for pods.',
  priority: 1,
  cell: (o) => selectorToString(fromLabelSelector(rec(o.spec).selector) ?? []),
};

function int(name: string, description: string, cell: (o: KubeObject) => number): Column {
  return { name, type: 'integer', description, priority: 0, cell };
}

function text(name: string, description: string, cell: (o: KubeObject) => string, priority = 0): Column {
  return { name, type: 'string', description, priority, cell };
}

function podStatusReason(pod: KubeObject): string {
  const status = rec(pod.status);
  for (const cs of arr(status.containerStatuses)) {
    const state = rec(rec(cs).state);
    const waiting = str(rec(state.waiting).reason);
    if (waiting) return waiting;
    // Like the printer: an exited container's reason (Completed, Error), else its exit code.
    if (Object.keys(rec(state.terminated)).length > 0) {
      const terminated = rec(state.terminated);
      return str(terminated.reason) ?? `ExitCode:${num(terminated.exitCode) ?? 0}`;
    }
  }
  return str(status.reason) ?? str(status.phase) ?? 'Unknown';
}

function jobCompletions(job: KubeObject): string {
  const spec = rec(job.spec);
  const succeeded = count(job, 'status', 'succeeded');
  const completions = num(spec.completions);
  if (completions !== undefined) return `${succeeded}/${completions}`;
  const parallelism = num(spec.parallelism) ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

/** Start to completion, or start to now while it runs (a failed Job has no completionTime). */
function jobDuration(job: KubeObject, now: number): string {
  const status = rec(job.status);
  const start = str(status.startTime);
  if (!start) return '';
  const end = str(status.completionTime);
  return humanDuration((end ? Date.parse(end) : now) - Date.parse(start));
}

function jobStatus(job: KubeObject): string {
  const has = (type: string): boolean =>
    arr(rec(job.status).conditions).some((c) => rec(c).type === type && rec(c).status === 'True');
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (job.metadata.deletionTimestamp !== undefined) return 'Terminating';
  if (has('Suspended')) return 'Suspended';
  if (has('FailureTarget')) return 'FailureTarget';
  return 'Running';
}

function servicePorts(svc: KubeObject): string {
  const ports = arr(rec(svc.spec).ports).map(
    (p) => `${num(rec(p).port) ?? ''}/${str(rec(p).protocol) ?? 'TCP'}`,
  );
  return ports.length > 0 ? ports.join(',') : '<none>';
}

function endpointsList(ep: KubeObject): string {
  const all: string[] = [];
  for (const subset of arr(ep.subsets)) {
    const ports = arr(rec(subset).ports).map((p) => num(rec(p).port));
    for (const a of arr(rec(subset).addresses)) {
      for (const port of ports.length > 0 ? ports : [undefined]) {
        all.push(port === undefined ? String(rec(a).ip) : `${String(rec(a).ip)}:${port}`);
      }
    }
  }
  if (all.length === 0) return '<none>';
  return all.length > 3 ? `${all.slice(0, 3).join(',')} + ${all.length - 3} more...` : all.join(',');
}

/** What kubectl prints: Ready or NotReady (Unknown without a Ready condition), and whether it is cordoned. */
function nodeStatus(o: KubeObject): string {
  const ready = arr(rec(o.status).conditions).find((c) => rec(c).type === 'Ready');
  const state = ready === undefined ? 'Unknown' : rec(ready).status === 'True' ? 'Ready' : 'NotReady';
  return rec(o.spec).unschedulable === true ? `${state},SchedulingDisabled` : state;
}

const nodeInfo = (o: KubeObject): Record<string, string> => stringMap(rec(o.status).nodeInfo);

function nodeAddress(o: KubeObject, type: string): string {
  const found = arr(rec(o.status).addresses).filter((a) => rec(a).type === type);
  return found.length > 0 ? found.map((a) => str(rec(a).address) ?? '').join(',') : '<none>';
}

/** An EndpointSlice's ready addresses, as kubectl prints them (the first three, then a count). */
function sliceEndpoints(slice: KubeObject): string {
  const all = arr(slice.endpoints)
    .filter((e) => rec(rec(e).conditions).ready !== false)
    .flatMap((e) => arr(rec(e).addresses).map(String));
  if (all.length === 0) return '<unset>';
  return all.length > 3 ? `${all.slice(0, 3).join(',')} + ${all.length - 3} more...` : all.join(',');
}

const COLUMNS: Record<string, Column[]> = {
  Deployment: [
    nameColumn,
    text(
      'Ready',
      'Number of the pod with ready state',
      (o) => `${count(o, 'status', 'readyReplicas')}/${count(o, 'spec', 'replicas')}`,
    ),
    int(
      'Up-to-date',
      'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
      (o) => count(o, 'status', 'updatedReplicas'),
    ),
    int(
      'Available',
      'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
      (o) => count(o, 'status', 'availableReplicas'),
    ),
    ageColumn,
    containersColumn,
    imagesColumn,
    selectorColumn,
  ],
  ReplicaSet: [
    nameColumn,
    int('Desired', 'Replicas is the number of desired replicas.', (o) => count(o, 'spec', 'replicas')),
    int('Current', 'Replicas is the most recently observed number of replicas.', (o) =>
      count(o, 'status', 'replicas'),
    ),
    int('Ready', 'The number of ready replicas for this replica set.', (o) =>
      count(o, 'status', 'readyReplicas'),
    ),
    ageColumn,
    containersColumn,
    imagesColumn,
    selectorColumn,
  ],
  StatefulSet: [
    nameColumn,
    text(
      'Ready',
      'Number of the pod with ready state',
      (o) => `${count(o, 'status', 'readyReplicas')}/${count(o, 'spec', 'replicas')}`,
    ),
    ageColumn,
    containersColumn,
    imagesColumn,
  ],
  Job: [
    nameColumn,
    text('Status', 'Status of the job.', jobStatus),
    text(
      'Completions',
      'The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.',
      jobCompletions,
    ),
    { ...text('Duration', 'Time required to complete the job.', () => ''), cell: jobDuration },
    ageColumn,
    containersColumn,
    imagesColumn,
    selectorColumn,
  ],
  Pod: [
    nameColumn,
    text('Ready', 'The aggregate readiness state of this pod for accepting traffic.', (o) => {
      const statuses = arr(rec(o.status).containerStatuses);
      const total = arr(rec(o.spec).containers).length;
      return `${statuses.filter((c) => rec(c).ready === true).length}/${total}`;
    }),
    text('Status', 'The aggregate status of the containers in this pod.', podStatusReason),
    text('Restarts', 'The number of times the containers in this pod have been restarted.', (o) =>
      String(
        arr(rec(o.status).containerStatuses).reduce<number>((n, c) => n + (num(rec(c).restartCount) ?? 0), 0),
      ),
    ),
    ageColumn,
    text('IP', 'IP address allocated to the pod.', (o) => str(rec(o.status).podIP) ?? '<none>', 1),
    text('Node', 'Name of the node the pod is assigned to.', (o) => str(rec(o.spec).nodeName) ?? '<none>', 1),
    text('Nominated Node', 'Name of the node the pod is nominated to.', () => '<none>', 1),
    text('Readiness Gates', 'Pod readiness gates.', () => '<none>', 1),
  ],
  Service: [
    nameColumn,
    text('Type', 'The type of the service.', (o) => str(rec(o.spec).type) ?? 'ClusterIP'),
    text('Cluster-IP', 'The cluster IP of the service.', (o) => str(rec(o.spec).clusterIP) ?? '<none>'),
    text('External-IP', 'The external IP of the service.', () => '<none>'),
    text('Port(s)', 'The ports of the service.', servicePorts),
    ageColumn,
    text(
      'Selector',
      'The selector of the service.',
      (o) => {
        const sel = stringMap(rec(o.spec).selector);
        const keys = Object.keys(sel).sort();
        return keys.length > 0 ? keys.map((k) => `${k}=${sel[k]}`).join(',') : '<none>';
      },
      1,
    ),
  ],
  Endpoints: [nameColumn, text('Endpoints', 'Endpoints of the service.', endpointsList), ageColumn],
  EndpointSlice: [
    nameColumn,
    text('AddressType', 'The IP family of the endpoints.', (o) => str(o.addressType) ?? ''),
    text('Ports', 'The ports of the endpoints.', (o) => {
      const ports = arr(o.ports).map((p) => num(rec(p).port));
      return ports.length > 0 ? ports.join(',') : '<unset>';
    }),
    text('Endpoints', 'The ready addresses of the endpoints.', sliceEndpoints),
    ageColumn,
  ],
  HorizontalPodAutoscaler: [
    nameColumn,
    text('Reference', 'The target of the autoscaler.', (o) => {
      const ref = rec(rec(o.spec).scaleTargetRef);
      return `${str(ref.kind) ?? ''}/${str(ref.name) ?? ''}`;
    }),
    text('Targets', 'The current and desired metric values.', (o) => {
      const metrics = arr(rec(o.spec).metrics);
      const util = metrics
        .map((m) => num(rec(rec(rec(m).resource).target).averageUtilization))
        .find((v) => v !== undefined);
      return util !== undefined ? `cpu: <unknown>/${util}%` : '<none>';
    }),
    int('MinPods', 'The lower limit for the number of pods.', (o) => num(rec(o.spec).minReplicas) ?? 1),
    int('MaxPods', 'The upper limit for the number of pods.', (o) => count(o, 'spec', 'maxReplicas')),
    int('Replicas', 'The current number of replicas.', (o) => count(o, 'status', 'currentReplicas')),
    ageColumn,
  ],
  Node: [
    nameColumn,
    text('Status', 'The status of the node.', nodeStatus),
    text('Roles', 'The roles of the node.', (o) => {
      const roles = Object.keys(stringMap(rec(o.metadata).labels))
        .filter((k) => k.startsWith('node-role.kubernetes.io/'))
        .map((k) => k.slice('node-role.kubernetes.io/'.length));
      return roles.length > 0 ? roles.sort().join(',') : '<none>';
    }),
    ageColumn,
    text('Version', 'Kubelet Version reported by the node.', (o) => nodeInfo(o).kubeletVersion ?? ''),
    text('Internal-IP', 'List of internal IPs for the node.', (o) => nodeAddress(o, 'InternalIP'), 1),
    text('External-IP', 'List of external IPs for the node.', (o) => nodeAddress(o, 'ExternalIP'), 1),
    text('OS-Image', 'OS image reported by the node.', (o) => nodeInfo(o).osImage ?? '<unknown>', 1),
    text(
      'Kernel-Version',
      'Kernel version reported by the node.',
      (o) => nodeInfo(o).kernelVersion ?? '<unknown>',
      1,
    ),
    text(
      'Container-Runtime',
      'Container runtime reported by the node.',
      (o) => nodeInfo(o).containerRuntimeVersion ?? '<unknown>',
      1,
    ),
  ],
  Namespace: [
    nameColumn,
    text('Status', 'The status of the namespace.', (o) => str(rec(o.status).phase) ?? 'Active'),
    ageColumn,
  ],
  Event: [
    {
      name: 'Last Seen',
      type: 'string',
      description: 'Time since the event was last seen.',
      priority: 0,
      cell: (o, now) => {
        const seen = Date.parse(str(o.lastTimestamp) ?? '');
        return Number.isNaN(seen) ? '<unknown>' : humanDuration(now - seen);
      },
    },
    text('Type', 'Type of the event.', (o) => str(o.type) ?? ''),
    text('Reason', 'Reason of the event.', (o) => str(o.reason) ?? ''),
    text('Object', 'The object the event is about.', (o) => {
      const ref = rec(o.involvedObject);
      return `${(str(ref.kind) ?? '').toLowerCase()}/${str(ref.name) ?? ''}`;
    }),
    text('Message', 'Message of the event.', (o) => str(o.message) ?? ''),
  ],
};

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => /;\s*as=Table/.test(part));
}

export function toTable(
  objects: KubeObject[],
  kind: string,
  now: number,
  includeObject: IncludeObject,
  listMeta: Record<string, unknown>,
  /** A watch sends the column definitions with its first event only, like the API server. */
  withColumns = true,
): unknown {
  const columns = COLUMNS[kind] ?? [nameColumn, ageColumn];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    ...(withColumns
      ? {
          columnDefinitions: columns.map((c) => ({
            name: c.name,
            type: c.type,
            format: c.format ?? '',
            description: c.description,
            priority: c.priority,
          })),
        }
      : {}),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o, now)),
      ...(includeObject === 'None'
        ? {}
        : {
            object:
              includeObject === 'Object'
                ? o
                : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
          }),
    })),
  };
}
