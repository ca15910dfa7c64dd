import { testPolicy } from './policy';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadClusterClients } from '../../src/kernel/kubernetes/clients';
import { Kubernetes } from '../../src/kernel/kubernetes/kubernetes';
import type { Policy } from '../../src/config/policy';
import {
  startSimulatedCluster,
  type SimulatedCluster,
  type SimulatedClusterOptions,
} from '../../sandbox/cluster/server';

export interface TestCluster {
  sim: SimulatedCluster;
  policy: Policy;
  /** Points a KubeConfig at the simulated cluster, as KUBECONFIG would. */
  load: (config: KubeConfig) => void;
  kube: Kubernetes;
}

/** The simulated cluster seeded from the policy, and the real adapter talking to it over HTTP. */
export async function startTestCluster(
  options: Partial<SimulatedClusterOptions> & { token?: string; requestTimeoutMs?: number } = {},
): Promise<TestCluster> {
  const policy = options.policy ?? testPolicy();
  const sim = await startSimulatedCluster({ readyDelayMs: 0, ...options, policy });
  const yaml = sim.kubeconfig(options.token ? { token: options.token } : undefined);
  const load = (config: KubeConfig) => config.loadFromString(yaml);
  const kube = new Kubernetes(policy, loadClusterClients(policy, load), {
    pollMs: 20,
    requestTimeoutMs: options.requestTimeoutMs ?? 5_000,
  });
  return { sim, policy, load, kube };
}
