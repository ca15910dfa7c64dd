import type { EnvironmentName } from '../domain/environment';
import type { Workload } from '../domain/topology';
import { KubeError } from './errors';

/**
 * The workload a rollback acts on, checked before any cluster read: a blue/green service
 * switches colour (it has no revisions to name), a rolling deployment undoes a revision,
 * a statefulset does not roll back. The adapter and its test fake both follow this.
 */
export function rollbackable(
  env: EnvironmentName,
  workload: Workload,
  toRevision: number | undefined,
): Exclude<Workload, { kind: 'statefulset' }> {
  if (workload.kind === 'statefulset') {
    throw new KubeError(
      'precondition',
      `${workload.service} is a statefulset; the bot rolls back deployments only`,
    );
  }
  if (workload.kind === 'blue-green' && toRevision !== undefined) {
    throw new KubeError(
      'precondition',
      `${workload.service} in ${env} is blue/green: a rollback switches colour, it has no revisions`,
    );
  }
  return workload;
}
