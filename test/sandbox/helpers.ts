import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { defaultPolicyPath, loadPolicy, type Policy } from '../../src/config/policy';
import {
  startSimulatedCluster,
  type SimulatedCluster,
  type SimulatedClusterOptions,
} from '../../sandbox/cluster';
import type { KubeObject } from '../../sandbox/cluster';

export const STAGING = 'azora-staging';
export const PRODUCTION = 'azora-production';

export function defaultPolicy(): Policy {
  return loadPolicy(defaultPolicyPath());
}

export function startCluster(options: Partial<SimulatedClusterOptions> = {}): Promise<SimulatedCluster> {
  return startSimulatedCluster({ policy: defaultPolicy(), readyDelayMs: 0, ...options });
}

/** A simulated cluster, with a kubeconfig for it in a private folder that kubectl's cache and HOME go under too. */
export interface ClusterForKubectl {
  cluster: SimulatedCluster;
  dir: string;
  kubeconfig: string;
  stop(): Promise<void>;
}

export async function startClusterForKubectl(name: string): Promise<ClusterForKubectl> {
  const cluster = await startCluster();
  const dir = mkdtempSync(path.join(os.tmpdir(), `azora-${name}-`));
  const kubeconfig = path.join(dir, 'kubeconfig');
  await cluster.writeKubeconfig(kubeconfig);
  return {
    cluster,
    dir,
    kubeconfig,
    async stop() {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A client over plain HTTP with a bearer token, as STACK-NOTES §4 sets one up against a fake
 * (client-node 1.4 refuses http:// unless skipTLSVerify is set).
 */
export function httpKubeConfig(cluster: SimulatedCluster, token = cluster.adminToken): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    { name: 'sandbox', server: cluster.url, skipTLSVerify: true },
    { name: 'u', token },
  );
  return kc;
}

export interface StatusBody {
  kind: string;
  status: string;
  reason: string;
  code: number;
  message: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: Array<{ field?: string; message: string }>;
  };
}

/** The Kubernetes Status an ApiException carries (client-node keeps the body as a raw string). */
export async function apiFailure(promise: Promise<unknown>): Promise<{ code: number; status: StatusBody }> {
  try {
    await promise;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const raw: unknown = err.body;
    const status = (typeof raw === 'string' ? JSON.parse(raw) : raw) as StatusBody;
    return { code: err.code, status };
  }
  throw new Error('expected the call to fail');
}

export function containerImage(obj: KubeObject | undefined): string | undefined {
  const spec = obj?.spec as { template?: { spec?: { containers?: Array<{ image?: string }> } } } | undefined;
  return spec?.template?.spec?.containers?.[0]?.image;
}

export function annotation(obj: KubeObject | undefined, key: string): string | undefined {
  return obj?.metadata.annotations?.[key];
}

export function specOf<T>(obj: KubeObject | undefined): T {
  return (obj?.spec ?? {}) as T;
}

export function statusOf<T>(obj: KubeObject | undefined): T {
  return (obj?.status ?? {}) as T;
}

export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';

export interface KubectlRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the kubectl `binary` against `kubeconfig` with a private HOME and cache under `dir`
 * (nothing of the developer's ~/.kube is read or written); `stdin` is piped in when given.
 */
export function runKubectl(
  binary: string,
  kubeconfig: string,
  dir: string,
  args: string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<KubectlRun> {
  return new Promise((resolve) => {
    const child = execFile(
      binary,
      [
        '--kubeconfig',
        kubeconfig,
        '--cache-dir',
        path.join(dir, 'cache'),
        '--request-timeout',
        '20s',
        ...args,
      ],
      { timeout: 40_000, env: { ...process.env, HOME: dir, KUBECONFIG: '', ...options.env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  });
}
