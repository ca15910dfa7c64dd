import type { KubeConfig } from '@kubernetes/client-node';
import { loadClusterClients } from './kernel/kubernetes/clients';
import { Kubernetes } from './kernel/kubernetes/kubernetes';
import { PagerDuty } from './kernel/pagerduty/pagerduty';
import type { Config } from './config/env';
import { ConfigError } from './config/errors';
import type { Policy } from './config/policy';
import type { Logger } from './kernel/log';
import type { Deps } from './deps';
import type { Clock } from './kernel/clock';

/**
 * The clients only jobs use. The composition root imports this module on demand, so
 * web processes do not carry client-node and pdjs in memory.
 */
export function workerAdapters(
  policy: Policy,
  config: Config,
  logger: Logger,
  clock: Clock,
  loadKubeConfig?: (config: KubeConfig) => void,
): Pick<Deps, 'kube' | 'pagerduty'> {
  let clusters: ReturnType<typeof loadClusterClients>;
  try {
    clusters = loadClusterClients(policy, loadKubeConfig);
  } catch (err) {
    // A missing or broken kubeconfig is the operator's to fix: one line, no stack.
    // A YAML error goes on with a code frame over several lines: its first says what and where.
    const what = (err as Error).message.split('\n')[0]!.trim();
    throw new ConfigError(`kubeconfig: ${what}`);
  }
  // PagerDuty records a note as a user's: without From, every note (the incident channel's
  // link on its PagerDuty incident) fails, which the operator should hear at start.
  if (config.pagerduty.apiToken && !config.pagerduty.fromEmail)
    logger.warn(
      'PAGERDUTY_API_TOKEN is set without PAGERDUTY_FROM_EMAIL: notes on PagerDuty incidents will fail',
    );
  return {
    kube: new Kubernetes(policy, clusters, { clock }),
    pagerduty: new PagerDuty(config.pagerduty, logger),
  };
}
