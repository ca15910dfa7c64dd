/** A simulated Kubernetes API server for tests, kubectl and the offline sandbox. */
export { startSimulatedCluster } from './server';
export type { RecordedRequest, SimulatedCluster, SimulatedClusterOptions } from './server';
export type { KubeconfigOptions } from './kubeconfig';
export type { FaultAction, FaultMatch, Faults } from './faults';
export type { DatabaseScript, DumpFile, SimulatedDatabase } from './postgres';
export {
  CONTROLLER_UID_LABEL,
  JOB_NAME_LABEL,
  LEGACY_CONTROLLER_UID_LABEL,
  LEGACY_JOB_NAME_LABEL,
} from './jobs';
export { BAD_TAG_SUFFIX, badErrorRatio, ERROR_RATE_ALERT, isBadImage } from './bad-versions';
export type { PodHistory, Span } from './traffic';
export type { ClusterAlert } from './bad-versions';
export { authorize, forbiddenMessage, isAllowed, ruleAllows } from './rbac';
export type { Identity, PolicyRule, RequestAttributes, Verb } from './rbac';
export {
  seedTopology,
  boundsFor,
  BLUE_VERSIONS,
  GREEN_VERSION,
  GREEN_VERSIONS,
  HISTORY_VERSIONS,
  LIVE_VERSION,
  POSTGRES_IMAGE,
  REGISTRY,
} from './seed';
export type { SeedOptions } from './seed';
export { parseLabelSelector, matchesSelector } from './selectors';
export type { KubeObject, ObjectMeta, OwnerReference } from './types';
