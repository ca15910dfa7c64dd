import type { AuditEvent } from '../kernel/audit';
import { keys } from '../kernel/keys';
import type { RedisClient } from '../kernel/redis';
import type { PlanStep } from '../requests/domain/types';
import type { ChangeRecord } from './domain/markers';

/** Audit events recorded between two times, oldest first. */
export interface AuditWindow {
  between(from: number, to: number): Promise<AuditEvent[]>;
}

/** The stream's ids are the times events were added; an event's `at` may be earlier by this much. */
const ID_SLACK_MS = 60_000;
/** An hour of audit trail is a few dozen events; a window never reads more than this many. */
const MAX_EVENTS = 2_000;

/**
 * Reads the audit stream (src/kernel/audit.ts) by time, where AuditLog only reads the
 * latest events: a graph's window is a range of stream ids.
 */
export class AuditStreamWindow implements AuditWindow {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.key = keys(prefix).audit();
  }

  async between(from: number, to: number): Promise<AuditEvent[]> {
    // Up to the newest: what was added after the window can only be a few events, and an
    // event's id is when it was added, which is not always its `at`.
    const entries = await this.redis.xrange(
      this.key,
      String(Math.max(0, from - ID_SLACK_MS)),
      '+',
      'COUNT',
      MAX_EVENTS,
    );
    return entries
      .map(([, fields]) => parseEvent(fields[1]))
      .filter((e): e is AuditEvent => e !== undefined && e.at >= from && e.at <= to);
  }
}

function parseEvent(raw: string | undefined): AuditEvent | undefined {
  try {
    const event = JSON.parse(raw ?? '') as Partial<AuditEvent>;
    return typeof event.type === 'string' && typeof event.at === 'number' ? (event as AuditEvent) : undefined;
  } catch {
    return undefined;
  }
}

/** A request as the request store keeps it: what it planned, and who asked. */
export interface RequestLookup {
  get(requestId: string): Promise<{ plan: readonly PlanStep[]; requester: string } | undefined>;
}

/**
 * The audit events of a window, each finished request with its plan: the audit trail says
 * that request `r1a2b3c4d` succeeded, its plan says it deployed v1.6.0 to payment.
 */
export async function changeRecords(
  audit: AuditWindow,
  requests: RequestLookup,
  from: number,
  to: number,
  environment: string,
): Promise<ChangeRecord[]> {
  const events = (await audit.between(from, to)).filter((e) => e.environment === environment);
  const found = new Map<string, { plan: readonly PlanStep[]; requester: string } | undefined>();
  for (const event of events) {
    if (!event.request || found.has(event.request)) continue;
    if (event.type !== 'succeeded' && event.type !== 'failed') continue;
    found.set(event.request, await requests.get(event.request));
  }
  return events.map((event) => {
    const request = event.request ? found.get(event.request) : undefined;
    const plan = request?.plan;
    return {
      type: event.type,
      at: event.at,
      // The executor records a result as `bot`; the marker names whoever asked for the change.
      actor: request?.requester ?? event.actor,
      ...(event.environment ? { environment: event.environment } : {}),
      ...(event.services ? { services: event.services } : {}),
      ...(plan ? { plan } : {}),
    };
  });
}
