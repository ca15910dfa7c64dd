import type { RequestContext } from '@kubernetes/client-node';
import { KubeConfig } from './client-node';
import { systemClock } from '../clock';
import { errorCode } from '../http/error-code';

/** How long one connection pool serves a cluster before the next call's fresh one takes over. */
export const POOL_LIFETIME_MS = 5 * 60_000;

/**
 * Lends one connection pool to every call for a while. The first call's pool is kept;
 * after `lifetimeMs` the next call's fresh pool takes over (so a rotated CA or client
 * certificate is picked up) and the old one closes once its requests have ended.
 */
export class PoolReuse<Pool extends { close(): Promise<unknown> }> {
  private current?: { pool: Pool; until: number };

  constructor(
    private readonly lifetimeMs = POOL_LIFETIME_MS,
    private readonly now: () => number = systemClock.now,
  ) {}

  lend(fresh: Pool): Pool {
    const at = this.now();
    if (this.current && this.current.until > at) return this.current.pool;
    const old = this.current?.pool;
    this.current = { pool: fresh, until: at + this.lifetimeMs };
    // close() waits for the requests in flight; a pool that has ended is no concern of ours.
    void old?.close().catch(() => undefined);
    return fresh;
  }
}

/**
 * client-node 2 builds a new undici Agent, and so opens a new TCP and TLS connection, for
 * every call to a cluster with a CA or a client certificate (every real one): about 4 ms
 * a call on loopback, a round trip or two more to a remote API server, and an idle socket
 * left behind each. This KubeConfig lends the calls of one cluster and user one pool.
 */
export class PooledKubeConfig extends KubeConfig {
  private readonly pools = new PoolReuse<NonNullable<ReturnType<RequestContext['getDispatcher']>>>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    // None when the cluster needs no TLS options: fetch's global pool already reuses.
    if (fresh) context.setDispatcher(this.pools.lend(fresh));
  }
}

/** How undici reports a connection the far side closed or reset under a request. */
const CONNECTION_CUT = new Set(['UND_ERR_SOCKET', 'ECONNRESET']);

const connectionCut = (err: unknown) => CONNECTION_CUT.has(errorCode(err) ?? '');

/**
 * Sends once more, on a new connection, when the API server cut the kept one the request
 * went out on (it restarted, or a load balancer dropped the connection). Every call the
 * bot makes may be repeated; an API that is really gone fails the second time as refused.
 * `cut` tells such a failure where a client reports it its own way (logs.ts).
 */
export async function onceMoreIfCut<T>(
  send: () => Promise<T>,
  cut: (err: unknown) => boolean = connectionCut,
): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (!cut(err)) throw err;
  }
  return send();
}
