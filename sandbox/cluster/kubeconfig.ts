import { stringify } from 'yaml';
import type { Policy } from '../../src/config/policy';

export const CLUSTER_NAME = 'azora-sandbox';

export interface KubeconfigOptions {
  /**
   * 'https' (default) works for kubectl and client-node; 'http' only for clients that send
   * a token over plain HTTP (client-node does, with insecure-skip-tls-verify), since kubectl
   * drops credentials without TLS.
   */
  scheme?: 'https' | 'http';
  /** Bearer token of the user; default the cluster's admin token. */
  token?: string;
  /** Extra context names pointing at the same cluster and user. */
  contexts?: string[];
  /** Namespace of the current context. */
  namespace?: string;
}

/**
 * A kubeconfig for the simulated cluster. Besides `azora-sandbox` it has a context for each
 * environment that names one in the policy, so the bot's per-environment contexts resolve
 * to the one simulated cluster.
 */
export function buildKubeconfig(
  url: string,
  token: string,
  userName: string,
  policy: Policy | undefined,
  options: KubeconfigOptions & { caCertificate?: string } = {},
): string {
  const user = userName;
  const context = (name: string, namespace?: string): unknown => ({
    name,
    context: { cluster: CLUSTER_NAME, user, ...(namespace ? { namespace } : {}) },
  });
  const contexts = [context(CLUSTER_NAME, options.namespace)];
  const seen = new Set([CLUSTER_NAME]);
  for (const env of Object.values(policy?.environments ?? {})) {
    if (env?.context && !seen.has(env.context)) {
      seen.add(env.context);
      contexts.push(context(env.context, env.namespace));
    }
  }
  for (const name of options.contexts ?? []) {
    if (!seen.has(name)) {
      seen.add(name);
      contexts.push(context(name));
    }
  }
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [
      {
        name: CLUSTER_NAME,
        cluster: {
          server: url,
          // client-node 1.4 refuses an http:// server unless TLS verification is "skipped".
          ...(options.caCertificate
            ? { 'certificate-authority-data': Buffer.from(options.caCertificate).toString('base64') }
            : { 'insecure-skip-tls-verify': true }),
        },
      },
    ],
    users: [{ name: user, user: { token } }],
    contexts,
    'current-context': CLUSTER_NAME,
  });
}
