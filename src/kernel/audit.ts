import { systemClock, type Clock } from './clock';
import type { Logger } from './log';
import type { RedisClient } from './redis';
import { keys } from './keys';

export interface AuditEvent {
  type: string;
  request?: string;
  actor: string;
  environment?: string;
  services?: string[];
  detail: string;
  at: number;
}

const MAX_EVENTS = 10_000;
/** Events read back per page, and at most, when looking for one environment's. */
const RECENT_PAGE = 200;
const RECENT_SCAN = 2_000;

/** Every request, decision, start and result: a Redis stream for `/azora status`, and a log line. */
export class AuditLog {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly logger: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    this.key = keys(prefix).audit();
  }

  private readonly listeners: Array<(event: AuditEvent) => Promise<void>> = [];

  /** Also hands every event recorded from now on to `listener` (an incident's timeline); its failures are logged, never thrown. */
  onRecord(listener: (event: AuditEvent) => Promise<void>): void {
    this.listeners.push(listener);
  }

  async record(event: Omit<AuditEvent, 'at'>, at = this.clock.now()): Promise<void> {
    const full: AuditEvent = { ...event, at };
    this.logger.info({ audit: full }, `audit: ${event.type}`);
    await this.redis.xadd(this.key, 'MAXLEN', '~', String(MAX_EVENTS), '*', 'event', JSON.stringify(full));
    for (const listener of this.listeners) {
      await listener(full).catch((err: unknown) =>
        this.logger.warn({ err: (err as Error).message, audit: event.type }, 'an audit listener failed'),
      );
    }
  }

  /**
   * The newest `count` events, of one environment when named: read back page by page
   * until that many are found, so a burst of another environment's events (a bystander's
   * refused commands) does not hide them; at most RECENT_SCAN events are looked at.
   */
  async recent(count: number, environment?: string): Promise<AuditEvent[]> {
    const parse = (fields: string[]) => JSON.parse(fields[1] ?? '{}') as AuditEvent;
    if (environment === undefined)
      return (await this.redis.xrevrange(this.key, '+', '-', 'COUNT', count)).map(([, f]) => parse(f));
    const found: AuditEvent[] = [];
    let end = '+';
    for (let scanned = 0; found.length < count && scanned < RECENT_SCAN;) {
      const page = await this.redis.xrevrange(this.key, end, '-', 'COUNT', RECENT_PAGE);
      for (const [, fields] of page) {
        const event = parse(fields);
        if (event.environment === environment) found.push(event);
      }
      scanned += page.length;
      if (page.length < RECENT_PAGE) break;
      end = `(${page[page.length - 1]![0]}`;
    }
    return found.slice(0, count);
  }
}
