import type { CustomRoute } from '@slack/bolt';
import type { Metrics } from '../src/metrics';
import { pingRedis, type RedisClient } from '../src/redis';

const json = (status: number, body: unknown) => ({ status, body: JSON.stringify(body) });

/** Liveness, readiness and metrics: the routes Kubernetes and Prometheus call. */
export function healthRoutes(deps: { redis: RedisClient; metrics: Metrics }): CustomRoute[] {
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
        const { status, body } = await pingRedis(deps.redis).then(
          () => json(200, { status: 'ready', redis: 'ok' }),
          (err: Error) => json(503, { status: 'not ready', redis: `unreachable: ${err.message}` }),
        );
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
