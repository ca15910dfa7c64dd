import { Agent, request } from 'node:https';
import { Redis } from 'ioredis';
import type { TestCluster } from '../kit/cluster';
import { percentile } from './load';

const CALLS = 40;
const WARM_UP = 5;
const NAMESPACE = 'azora-production';
const DEPLOYMENT = 'azora-payment-blue';

const IDLE_CALLS = 10;
const IDLE_MS = 200;

/** p50 of `calls` sequential calls after WARM_UP, in ms; `idleMs` apart when given. */
async function p50Of(call: () => Promise<unknown>, calls = CALLS, idleMs = 0): Promise<number> {
  for (let i = 0; i < WARM_UP; i++) await call();
  const took: number[] = [];
  for (let i = 0; i < calls; i++) {
    if (idleMs > 0) await new Promise((r) => setTimeout(r, idleMs));
    const start = performance.now();
    await call();
    took.push(performance.now() - start);
  }
  return percentile(took, 50);
}

/**
 * One Redis round trip (PING) back to back, and after IDLE_MS with nothing to do, as each
 * step of an approval meets processes that were idle between clicks: what every hop
 * between the click and the first API call costs at least.
 */
export async function redisRoundTrip(url: string): Promise<{ backToBack: number; afterIdle: number }> {
  const redis = new Redis(url);
  try {
    const ping = () => redis.ping();
    return { backToBack: await p50Of(ping), afterIdle: await p50Of(ping, IDLE_CALLS, IDLE_MS) };
  } finally {
    redis.disconnect();
  }
}

/**
 * One Kubernetes API read (a Deployment) through the bot's adapter, beside the same GET
 * with node:https on a kept connection: what client-node's request pipeline costs a call.
 */
export async function apiCallCost(cluster: TestCluster): Promise<{ adapter: number; https: number }> {
  const adapter = await p50Of(() => cluster.kube.readDeployment('production', NAMESPACE, DEPLOYMENT));
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: cluster.sim.caCertificate });
  const url = new URL(
    `/apis/apps/v1/namespaces/${NAMESPACE}/deployments/${DEPLOYMENT}`,
    cluster.sim.httpsUrl,
  );
  const get = () =>
    new Promise<unknown>((resolve, reject) => {
      const req = request(
        url,
        { agent, headers: { authorization: `Bearer ${cluster.sim.adminToken}`, accept: 'application/json' } },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          // Parsed, as client-node parses its answers.
          res.on('end', () =>
            res.statusCode === 200
              ? resolve(JSON.parse(body) as unknown)
              : reject(new Error(`GET ${url.pathname}: ${res.statusCode} ${body}`)),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
  try {
    return { adapter, https: await p50Of(get) };
  } finally {
    agent.destroy();
  }
}
