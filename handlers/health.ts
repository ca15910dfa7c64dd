import type { CustomRoute } from '@slack/bolt';
import type { Metrics } from '../src/kernel/metrics';
import type { RedisClient } from '../src/kernel/redis';
import { withDeadline } from '../src/kernel/deadline';

const json = (status: number, body: unknown) => ({ status, body: JSON.stringify(body) });

/** A readiness check answers within this, or counts as down: a hung dependency must not hang the probe. */
const CHECK_DEADLINE_MS = 1_000;

/**
 * A check's own account of why the role is not ready (`disconnected since …`), shown as it
 * is; any other failure reads `unreachable: <why>`.
 */
export class NotReady extends Error {}

/** What a role's readiness depends on besides Redis, by name; asked at every probe. */
export type ReadinessChecks = () => Record<string, () => Promise<unknown>>;

/**
 * Liveness, readiness and metrics: the routes Kubernetes and Prometheus call. Readiness
 * asks Redis, and whatever else the role depends on (`checks`: the cluster APIs where this
 * process runs jobs, the Slack socket in Socket Mode), as it stands at the probe: a
 * process serving both roles gains its worker's checks once the worker has started.
 */
export function healthRoutes(deps: {
  redis: RedisClient;
  /** The bot's key prefix: Redis is asked about a key of its slot. */
  prefix: string;
  metrics: Metrics;
  checks?: ReadinessChecks;
}): CustomRoute[] {
  // Not PING: a Redis Cluster client sends that to any node, which answers while the node
  // that holds the bot's slot (every key shares one) is down and nothing can be stored.
  const redisCheck = () => deps.redis.exists(`${deps.prefix}:readyz`);
  const checksNow = () => ({ redis: redisCheck, ...deps.checks?.() });
  return [
    {
      path: '/healthz',
      method: 'GET',
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"ok"}');
      },
    },
    {
      path: '/readyz',
      method: 'GET',
      handler: async (_req, res) => {
        const results = await Promise.all(
          Object.entries(checksNow()).map(async ([name, check]) => [
            name,
            await withDeadline(check(), CHECK_DEADLINE_MS, name)
              .then(() => 'ok')
              .catch((err: Error) => (err instanceof NotReady ? err.message : `unreachable: ${err.message}`)),
          ]),
        );
        const ready = results.every(([, result]) => result === 'ok');
        const { status, body } = json(ready ? 200 : 503, {
          status: ready ? 'ready' : 'not ready',
          ...Object.fromEntries(results),
        });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
      },
    },
    {
      path: '/metrics',
      method: 'GET',
      handler: async (_req, res) => {
        res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
        res.end(await deps.metrics.registry.metrics());
      },
    },
  ];
}
