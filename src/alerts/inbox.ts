import type { Notification } from './domain/payload';
import type { RedisClient } from '../kernel/redis';
import { runScript } from '../kernel/script';

/** How long a delivery is remembered: an Alertmanager HA pair sends each notification twice. */
const DUPLICATE_WINDOW_MS = 10 * 60_000;
/** Past this many notifications waiting, the webhook answers 503 and Alertmanager retries. */
export const INBOX_LIMIT = 20_000;
/** Senders remembered per delivery: the peers of an HA cluster, not one per retry. */
const SENDERS_MAX = 8;
const GROUP = 'workers';

/** What makes a delivery the same as another: its group, its content and who sent it. */
export interface Delivery {
  /** The group's id (groupIdOf). */
  group: string;
  /** What it says (deliveryDigest). */
  digest: string;
  /** Which Alertmanager sent it (deliverySender). */
  sender: string;
}

/**
 * Adds a delivery unless it repeats the group's last one, is a late copy from another
 * sender of one seen in the window, or the inbox is full. A sender sends a group's
 * notifications one after another, so the same text again from the sender that sent it
 * first is news (the group fired again as it did before, once resolved), while another
 * peer's copy of it arrives only after its peer wait, and is older news.
 * KEYS: the stream, the delivery's senders (a set), the group's last digest.
 * ARGV: the notification, window, limit, digest, sender, senders kept.
 * Returns 1 (stored), 0 (a duplicate) or -1 (full).
 */
const PUT = `
local senders = KEYS[2]
if redis.call('GET', KEYS[3]) == ARGV[4] then
  if redis.call('EXISTS', senders) == 1 and redis.call('SCARD', senders) < tonumber(ARGV[6]) then
    redis.call('SADD', senders, ARGV[5])
  end
  return 0
end
if redis.call('EXISTS', senders) == 1 and redis.call('SISMEMBER', senders, ARGV[5]) == 0 then return 0 end
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
redis.call('XADD', KEYS[1], '*', 'n', ARGV[1])
redis.call('SADD', senders, ARGV[5])
redis.call('PEXPIRE', senders, ARGV[2])
redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[2])
return 1
`;

/** Acknowledges and deletes entries, so the stream holds only what is still to do. */
const DONE = `
redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
return redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
`;

export type PutOutcome = 'stored' | 'duplicate' | 'full';

/** One entry read from the inbox: its stream id, how many times it was handed out, and what it holds. */
export interface InboxEntry {
  id: string;
  deliveries: number;
  /** Undefined when the stored text is not a notification (written by something else). */
  notification: Notification | undefined;
}

/** XPENDING's extended form: each entry's id, holder, idle time and hand-outs. */
type PendingReply = [id: string, consumer: string, idleMs: number, deliveries: number][];
/** Entries looked at per sweep, of each kind. */
const PAGE = 100;

type StreamEntries = [id: string, fields: string[] | null][];

/**
 * Alertmanager notifications between the webhook and the workers: a Redis stream read by
 * one consumer group, so each entry goes to one worker, stays pending until that worker
 * acknowledges it, and is handed to another when its worker dies. Several notifications
 * come in one read, which one BullMQ job each could not do.
 */
export class AlertInbox {
  private readonly stream: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly limit = INBOX_LIMIT,
  ) {
    this.stream = `${prefix}:alert-inbox`;
  }

  /** Stored once per delivery; 'full' asks the sender to come back later. */
  async put(notification: Notification, delivery: Delivery): Promise<PutOutcome> {
    const outcome = await runScript(
      this.redis,
      PUT,
      3,
      this.stream,
      `${this.prefix}:alert-delivery:${delivery.group}-${delivery.digest}`,
      `${this.prefix}:alert-last:${delivery.group}`,
      JSON.stringify(notification),
      DUPLICATE_WINDOW_MS,
      this.limit,
      delivery.digest,
      delivery.sender,
      SENDERS_MAX,
    );
    return outcome === 1 ? 'stored' : outcome === 0 ? 'duplicate' : 'full';
  }

  /** Notifications stored and not yet done (waiting or being handled). */
  size(): Promise<number> {
    return this.redis.xlen(this.stream);
  }

  /** How many notifications were ever stored, and how many workers have taken some (and not left). */
  async stats(): Promise<{ stored: number; consumers: number }> {
    const [stream, consumers] = await Promise.all([
      this.redis.xinfo('STREAM', this.stream).catch(() => []) as Promise<unknown[]>,
      this.redis.xinfo('CONSUMERS', this.stream, GROUP).catch(() => []) as Promise<unknown[]>,
    ]);
    const at = stream.indexOf('entries-added');
    return { stored: at < 0 ? 0 : Number(stream[at + 1]), consumers: consumers.length };
  }

  /** Creates the consumer group (and the stream) when missing; both survive restarts. */
  async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.stream, GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err as Error).message.startsWith('BUSYGROUP')) throw err;
    }
  }

  /**
   * Up to `count` entries never handed out before, waiting up to `blockMs` for the first
   * (0: not at all). `redis` is the connection to block on: not one others share.
   */
  async read(redis: RedisClient, consumer: string, count: number, blockMs: number): Promise<InboxEntry[]> {
    const block = blockMs > 0 ? ['BLOCK', blockMs] : [];
    const reply = (await redis.xreadgroup(
      'GROUP',
      GROUP,
      consumer,
      'COUNT',
      count,
      ...(block as ['BLOCK', number]),
      'STREAMS',
      this.stream,
      '>',
    )) as [string, StreamEntries][] | null;
    return entriesOf(reply?.[0]?.[1] ?? [], () => 1);
  }

  /**
   * Entries to hand out again, taken over by `consumer`: its own failures once their
   * backoff `retryAfter(n)` is over (n: hand-outs so far), and anyone's entry pending for
   * `stallMs` (its worker died or hangs). The second walks the whole pending list a page
   * at a time, from `cursor` on, however many entries live workers hold meanwhile.
   */
  async reclaim(
    consumer: string,
    stallMs: number,
    retryAfter: (deliveries: number) => number,
    cursor: { at: string },
  ): Promise<InboxEntry[]> {
    const minIdle = retryAfter(1);
    const own = (
      (await this.redis.xpending(
        this.stream,
        GROUP,
        'IDLE',
        minIdle,
        '-',
        '+',
        PAGE,
        consumer,
      )) as PendingReply
    ).filter(([, , idleMs, deliveries]) => idleMs >= retryAfter(deliveries));
    const retried =
      own.length === 0
        ? []
        : ((await this.redis.xclaim(
            this.stream,
            GROUP,
            consumer,
            minIdle,
            ...own.map(([id]) => id),
          )) as StreamEntries);
    const [next, stalled] = (await this.redis.xautoclaim(
      this.stream,
      GROUP,
      consumer,
      stallMs,
      cursor.at,
      'COUNT',
      PAGE,
    )) as [string, StreamEntries];
    cursor.at = next;
    const handedOut = new Map(own.map(([id, , , deliveries]) => [id, deliveries + 1]));
    // How often each was handed out, claims included: a notification that kills workers must
    // stop. Asked entry by entry (in one round trip): a range would also list whatever else
    // this consumer holds between them, and could end before the last.
    const counts = stalled.filter(([id]) => !handedOut.has(id)).map(([id]) => id);
    if (counts.length > 0) {
      const pipeline = this.redis.pipeline();
      for (const id of counts) pipeline.xpending(this.stream, GROUP, id, id, 1);
      for (const [err, reply] of (await pipeline.exec()) ?? []) {
        if (err) throw err;
        for (const [id, , , deliveries] of reply as PendingReply) handedOut.set(id, deliveries);
      }
    }
    return entriesOf([...retried, ...stalled], (id) => handedOut.get(id) ?? 1);
  }

  /** Done with these entries, whatever came of them: they leave the stream. */
  async done(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await runScript(this.redis, DONE, 1, this.stream, GROUP, ...ids);
  }

  /** A consumer that stops with nothing pending leaves the group, which would otherwise list it for ever. */
  async leave(consumer: string): Promise<void> {
    const pending = (await this.redis.xpending(this.stream, GROUP, '-', '+', 1, consumer)) as unknown[];
    if (pending.length === 0) await this.redis.xgroup('DELCONSUMER', this.stream, GROUP, consumer);
  }

  /** Consumers of workers that died: nothing pending (reclaimed) and silent for `idleMs`. */
  async forgetIdle(idleMs: number): Promise<void> {
    const consumers = (await this.redis.xinfo('CONSUMERS', this.stream, GROUP)) as (string | number)[][];
    for (const fields of consumers) {
      const info = new Map<string, string | number>();
      for (let i = 0; i + 1 < fields.length; i += 2) info.set(String(fields[i]), fields[i + 1]!);
      if (info.get('pending') === 0 && Number(info.get('idle')) >= idleMs)
        await this.redis.xgroup('DELCONSUMER', this.stream, GROUP, String(info.get('name')));
    }
  }
}

function entriesOf(raw: StreamEntries, deliveriesOf: (id: string) => number): InboxEntry[] {
  return raw.flatMap(([id, fields]) => {
    // An entry deleted while pending comes back without its fields: nothing left to do.
    if (!fields) return [];
    return [{ id, deliveries: deliveriesOf(id), notification: parseNotification(fields) }];
  });
}

/**
 * The webhook stores only what notificationSchema accepted, and in its output form
 * (defaults filled in), so reading it back needs no second validation, which would copy
 * every alert once more. What is checked is that the entry is one of those at all.
 */
function parseNotification(fields: string[]): Notification | undefined {
  const at = fields.indexOf('n');
  if (at < 0) return undefined;
  try {
    const value = JSON.parse(fields[at + 1]!) as Partial<Notification> | null;
    const looksStored =
      value?.version === '4' &&
      typeof value.groupKey === 'string' &&
      Array.isArray(value.alerts) &&
      value.alerts.length > 0 &&
      typeof value.groupLabels === 'object';
    return looksStored ? (value as Notification) : undefined;
  } catch {
    return undefined;
  }
}
