import type { EnvironmentName } from '../domain/environment';
import { KubeError } from './errors';

/**
 * The workload a scale acts on: the live one, which must be the one a plan pinned when it
 * pinned one (a blue/green service switched since scales another colour's replicas). The
 * adapter and its test fake both follow this.
 */
export function scaleTargetOf(env: EnvironmentName, service: string, live: string, pinned?: string): string {
  if (pinned !== undefined && pinned !== live)
    throw new KubeError('precondition', `${service} in ${env} runs on ${live} now, not ${pinned}`);
  return live;
}
