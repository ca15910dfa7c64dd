import { arr, fnv32a, isRecord, rec, str, type JsonRecord, type KubeObject } from './types';

/**
 * The API server fills in defaults on every write. Clients round-trip objects through typed
 * structs, so serving the defaulted form keeps templates from kubectl and from the store
 * comparable, and makes `kubectl get -o yaml` look familiar.
 */
export function applyDefaults(obj: KubeObject): void {
  switch (obj.kind) {
    case 'Deployment':
      defaultDeployment(obj);
      break;
    case 'ReplicaSet':
      defaultReplicaSet(obj);
      break;
    case 'StatefulSet':
      defaultStatefulSet(obj);
      break;
    case 'Pod':
      if (isRecord(obj.spec)) defaultPodSpec(obj.spec);
      break;
    case 'Job':
      defaultJob(obj);
      break;
    case 'Service':
      defaultService(obj);
      break;
    case 'HorizontalPodAutoscaler':
      if (isRecord(obj.spec) && obj.spec.minReplicas === undefined) obj.spec.minReplicas = 1;
      break;
    case 'Namespace':
      obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name };
      obj.spec = { finalizers: ['kubernetes'], ...rec(obj.spec) };
      obj.status = { phase: 'Active', ...rec(obj.status) };
      break;
  }
}

function setDefault(target: JsonRecord, key: string, value: unknown): void {
  if (target[key] === undefined) target[key] = value;
}

function defaultTemplate(spec: JsonRecord): void {
  const template = rec(spec.template);
  if (isRecord(template.spec)) defaultPodSpec(template.spec);
}

function defaultDeployment(obj: KubeObject): void {
  if (!isRecord(obj.spec)) return;
  const spec = obj.spec;
  setDefault(spec, 'replicas', 1);
  setDefault(spec, 'revisionHistoryLimit', 10);
  setDefault(spec, 'progressDeadlineSeconds', 600);
  const strategy = isRecord(spec.strategy) ? spec.strategy : (spec.strategy = {});
  setDefault(strategy, 'type', 'RollingUpdate');
  if (strategy.type === 'RollingUpdate') {
    const rolling = isRecord(strategy.rollingUpdate) ? strategy.rollingUpdate : (strategy.rollingUpdate = {});
    setDefault(rolling, 'maxUnavailable', '25%');
    setDefault(rolling, 'maxSurge', '25%');
  }
  defaultTemplate(spec);
}

function defaultReplicaSet(obj: KubeObject): void {
  if (!isRecord(obj.spec)) return;
  setDefault(obj.spec, 'replicas', 1);
  defaultTemplate(obj.spec);
}

function defaultStatefulSet(obj: KubeObject): void {
  if (!isRecord(obj.spec)) return;
  const spec = obj.spec;
  setDefault(spec, 'replicas', 1);
  setDefault(spec, 'podManagementPolicy', 'OrderedReady');
  setDefault(spec, 'revisionHistoryLimit', 10);
  setDefault(spec, 'updateStrategy', { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
  defaultTemplate(spec);
}

/** batch/v1 SetDefaults_Job, as a 1.32 API server applies them. */
function defaultJob(obj: KubeObject): void {
  if (!isRecord(obj.spec)) return;
  const spec = obj.spec;
  if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1;
  setDefault(spec, 'parallelism', 1);
  setDefault(spec, 'backoffLimit', 6);
  setDefault(spec, 'completionMode', 'NonIndexed');
  setDefault(spec, 'suspend', false);
  if (spec.podFailurePolicy === undefined) setDefault(spec, 'podReplacementPolicy', 'TerminatingOrFailed');
  defaultTemplate(spec);
}

function defaultProbe(probe: unknown): void {
  if (!isRecord(probe)) return;
  if (isRecord(probe.httpGet)) setDefault(probe.httpGet, 'scheme', 'HTTP');
  setDefault(probe, 'timeoutSeconds', 1);
  setDefault(probe, 'periodSeconds', 10);
  setDefault(probe, 'successThreshold', 1);
  setDefault(probe, 'failureThreshold', 3);
}

export function defaultPodSpec(spec: JsonRecord): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'schedulerName', 'default-scheduler');
  for (const list of [spec.containers, spec.initContainers]) {
    for (const c of arr(list)) {
      if (!isRecord(c)) continue;
      const image = str(c.image) ?? '';
      const tagged = /:[^/]+$/.test(image) && !image.endsWith(':latest');
      setDefault(c, 'imagePullPolicy', tagged || image.includes('@') ? 'IfNotPresent' : 'Always');
      setDefault(c, 'terminationMessagePath', '/dev/termination-log');
      setDefault(c, 'terminationMessagePolicy', 'File');
      for (const p of arr(c.ports)) if (isRecord(p)) setDefault(p, 'protocol', 'TCP');
      defaultProbe(c.readinessProbe);
      defaultProbe(c.livenessProbe);
      defaultProbe(c.startupProbe);
    }
  }
}

function defaultService(obj: KubeObject): void {
  if (!isRecord(obj.spec)) obj.spec = {};
  const spec = rec(obj.spec);
  setDefault(spec, 'type', 'ClusterIP');
  setDefault(spec, 'sessionAffinity', 'None');
  setDefault(spec, 'internalTrafficPolicy', 'Cluster');
  setDefault(spec, 'ipFamilies', ['IPv4']);
  setDefault(spec, 'ipFamilyPolicy', 'SingleStack');
  if (spec.clusterIP === undefined) {
    // Stable per service so a reseeded sandbox keeps its addresses.
    const h = fnv32a(`${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
    spec.clusterIP = `10.96.${(h >>> 8) & 255}.${h & 255 || 1}`;
  }
  setDefault(spec, 'clusterIPs', [spec.clusterIP]);
  for (const p of arr(spec.ports)) {
    if (!isRecord(p)) continue;
    setDefault(p, 'protocol', 'TCP');
    setDefault(p, 'targetPort', p.port);
  }
  obj.status = { loadBalancer: {}, ...rec(obj.status) };
}
