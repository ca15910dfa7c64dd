import type { KubeConfig } from '@kubernetes/client-node';
import { loadClusterClients } from './adapters/kubernetes/clients';
import { Kubernetes } from './adapters/kubernetes/kubernetes';
import { PagerDuty } from './adapters/pagerduty';
import type { Config } from './config/env';
import type { Policy } from './config/policy';
import type { Logger } from './log';
import type { Services } from './services';

/**
 * The clients only jobs use. The composition root imports this module on demand, so
 * web processes do not carry client-node and pdjs in memory.
 */
export function workerAdapters(
  policy: Policy,
  config: Config,
  logger: Logger,
  loadKubeConfig?: (config: KubeConfig) => void,
): Pick<Services, 'kube' | 'pagerduty'> {
  return {
    kube: new Kubernetes(policy, loadClusterClients(policy, loadKubeConfig)),
    pagerduty: new PagerDuty(config.pagerduty, logger),
  };
}
