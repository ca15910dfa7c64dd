import type { CustomRoute } from '@slack/bolt';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The worker role's own small HTTP server: liveness, readiness and metrics, so Kubernetes
 * can probe worker pods and Prometheus can scrape the job metrics they count.
 */
export async function startOpsServer(
  routes: CustomRoute[],
  port: number,
): Promise<{ port: number; stop(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://worker').pathname;
    const route = routes.find((r) => r.path === path && [r.method].flat().includes(req.method ?? 'GET'));
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    // A route's request type is an IncomingMessage with optional path params; these routes take none.
    route.handler(req as Parameters<CustomRoute['handler']>[0], res);
  });
  await new Promise<void>((resolve) => server.listen(port, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
