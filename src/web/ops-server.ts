import type { CustomRoute } from '@slack/bolt';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendJson } from '../kernel/http/json';
import { keepIdleConnections } from '../kernel/http/keep-alive';
import { listenError } from '../kernel/http/listen-error';
import type { Logger } from '../kernel/log';

/**
 * A small HTTP server for the routes Kubernetes, Prometheus and Alertmanager call (liveness,
 * readiness, metrics, the webhook): the worker role's, and the web role's in Socket Mode,
 * where Slack itself comes over a WebSocket. Routes match by exact path and method.
 */
export async function startOpsServer(
  routes: CustomRoute[],
  port: number,
  logger?: Logger,
): Promise<{ port: number; stop(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = routes.find((r) => r.path === path && [r.method].flat().includes(req.method ?? 'GET'));
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    // A route's request type is an IncomingMessage with optional path params; these routes take none.
    // Handlers are typed void but may be async: a rejection answers 500 rather than going unobserved.
    Promise.resolve(route.handler(req as Parameters<CustomRoute['handler']>[0], res) as unknown).catch(
      (err: unknown) => {
        logger?.error({ err: (err as Error).message, path }, 'an HTTP route failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        else res.destroy();
      },
    );
  });
  keepIdleConnections(server);
  await new Promise<void>((resolve, reject) => {
    // A port in use fails the start with its error instead of an uncaught 'error' event.
    const refused = (err: Error) => reject(listenError(err, port));
    server.once('error', refused);
    server.listen(port, () => {
      server.off('error', refused);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      // Keep-alive clients (Alertmanager, Prometheus) would hold the server open for ever:
      // idle connections go now, busy ones get a moment to finish their request.
      server.closeIdleConnections();
      const cutoff = setTimeout(() => server.closeAllConnections(), 2_000);
      await closed;
      clearTimeout(cutoff);
    },
  };
}
