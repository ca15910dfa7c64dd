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

  async recent(count: number, environment?: string): Promise<AuditEvent[]> {
    const entries = await this.redis.xrevrange(this.key, '+', '-', 'COUNT', environment ? count * 10 : count);
    return entries
      .map(([, fields]) => JSON.parse(fields[1] ?? '{}') as AuditEvent)
      .filter((e) => environment === undefined || e.environment === environment)
      .slice(0, count);
  }
}
