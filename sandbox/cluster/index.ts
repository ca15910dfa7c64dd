/** A simulated Kubernetes API server for tests, kubectl and the offline sandbox. */
export { startSimulatedCluster } from './server';
export type { RecordedRequest, SimulatedCluster, SimulatedClusterOptions } from './server';
export type { KubeconfigOptions } from './kubeconfig';
export type { FaultAction, FaultMatch, Faults } from './faults';
export { authorize, forbiddenMessage, isAllowed, ruleAllows } from './rbac';
export type { Identity, PolicyRule, RequestAttributes, Verb } from './rbac';
export { seedTopology, boundsFor, GREEN_VERSION, HISTORY_VERSIONS, POSTGRES_IMAGE, REGISTRY } from './seed';
export type { SeedOptions } from './seed';
export { parseLabelSelector, matchesSelector } from './selectors';
export type { KubeObject, ObjectMeta, OwnerReference } from './types';
