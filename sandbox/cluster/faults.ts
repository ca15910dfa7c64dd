/** Chaos controls, so tests can check how clients behave when the API server misbehaves. */

export interface FaultMatch {
  /** HTTP method, any case; absent matches every method. */
  method?: string;
  /** Tested against the path with its query string, e.g. /apis/apps/v1/namespaces/x/deployments?watch=true. */
  path?: RegExp;
}

export type FaultAction =
  { kind: 'error'; status: number; message: string } | { kind: 'hang'; ms: number } | { kind: 'drop' };

interface FaultRule {
  match: FaultMatch;
  remaining: number;
  action: FaultAction;
}

export interface ListenerControl {
  stop(): Promise<void>;
  start(): Promise<void>;
}

export class Faults {
  private rules: FaultRule[] = [];

  constructor(private readonly listener: ListenerControl) {}

  /** The next `count` matching requests answer `status` (default 500) with an InternalError Status. */
  failNext(count: number, options: FaultMatch & { status?: number; message?: string } = {}): void {
    const { status = 500, message = 'injected fault', ...match } = options;
    this.rules.push({ match, remaining: count, action: { kind: 'error', status, message } });
  }

  /** The next `count` matching requests are held for `ms` before they are served normally. */
  hangNext(count: number, ms: number, match: FaultMatch = {}): void {
    this.rules.push({ match, remaining: count, action: { kind: 'hang', ms } });
  }

  /**
   * The next `count` matching requests get no answer: their connection is cut, as an API
   * server restarting or a load balancer dropping a kept connection does.
   */
  dropNext(count: number, match: FaultMatch = {}): void {
    this.rules.push({ match, remaining: count, action: { kind: 'drop' } });
  }

  clear(): void {
    this.rules = [];
  }

  /** The API is down: the port refuses connections and open connections are cut. */
  stopListening(): Promise<void> {
    return this.listener.stop();
  }

  /** Listens again on the same port. */
  startListening(): Promise<void> {
    return this.listener.start();
  }

  /** Consumes one use of the first rule that matches the request, if any. */
  take(method: string, pathWithQuery: string): FaultAction | undefined {
    // A /g or /y pattern keeps state between test() calls; every request starts afresh.
    for (const r of this.rules) if (r.match.path) r.match.path.lastIndex = 0;
    const rule = this.rules.find(
      (r) =>
        r.remaining > 0 &&
        (r.match.method === undefined || r.match.method.toUpperCase() === method.toUpperCase()) &&
        (r.match.path === undefined || r.match.path.test(pathWithQuery)),
    );
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining === 0) this.rules = this.rules.filter((r) => r !== rule);
    return rule.action;
  }
}
