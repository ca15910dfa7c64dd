import type { Server } from 'node:http';

/** Longer than the idle timeout of the load balancers and clients in front (60 s on most). */
export const KEEP_ALIVE_MS = 65_000;

/**
 * Node closes a keep-alive connection after 5 idle seconds. A client that sends a request
 * on it at that moment gets ECONNRESET, and a POST (an Alertmanager notification, a
 * Slack request) is not retried by its sender's HTTP client. With a longer timeout the
 * client, which knows when it sends, is the one that closes an idle connection.
 */
export function keepIdleConnections(server: Server): void {
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  // Node wants the headers deadline beyond the keep-alive one, or a reused connection may be cut.
  server.headersTimeout = KEEP_ALIVE_MS + 1_000;
}
