import { keys, type Keys } from '../kernel/keys';
import type { RedisClient } from '../kernel/redis';
import { VersionedStore } from '../kernel/versioned';
import { runScript } from '../kernel/script';
import type { Incident } from './domain/incident';
import { appendEntry, emptyTimeline, type Timeline, type TimelineEntry } from './domain/timeline';

/** Long enough to write the postmortem weeks later; every key expires. */
const RETENTION_MS = 180 * 86_400_000;
/** The index keeps this many incidents, newest first (`/azora incident list`). */
export const MAX_INDEXED = 200;

/**
 * Incidents in Redis: each one a versioned document (two commanders updating at once
 * cannot both win), its timeline beside it, an index by declaration time, and which
 * incident a channel or an alert group belongs to.
 */
/** Sets KEYS[1] to ARGV[2] when it holds ARGV[1] (or nothing); returns what it holds after. */
const TAKE_OVER = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return holder end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return ARGV[2]
`;

export class IncidentStore {
  private readonly keys: Keys;
  private readonly docs: VersionedStore<Incident>;
  private readonly timelines: VersionedStore<Timeline>;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = keys(prefix);
    this.docs = new VersionedStore<Incident>(redis, RETENTION_MS);
    this.timelines = new VersionedStore<Timeline>(redis, RETENTION_MS);
  }

  /** Stores a new incident and its first entry; false when its id is taken (a retried declaration). */
  async create(incident: Incident, first: TimelineEntry): Promise<boolean> {
    if (!(await this.docs.create(this.keys.incident(incident.id), incident))) return false;
    await this.timelines.create(this.keys.incidentTimeline(incident.id), appendEntry(emptyTimeline(), first));
    const index = this.keys.incidents();
    await this.redis
      .multi()
      .set(this.keys.incidentOfChannel(incident.channel), incident.id, 'PX', RETENTION_MS)
      .zadd(index, incident.declaredAt, incident.id)
      .zremrangebyrank(index, 0, -MAX_INDEXED - 1)
      .pexpire(index, RETENTION_MS)
      .zadd(this.keys.openIncidents(), incident.declaredAt, incident.id)
      // Abandoned incidents (never resolved) must not crowd new ones out of the bot's events.
      .zremrangebyrank(this.keys.openIncidents(), 0, -MAX_INDEXED - 1)
      .pexpire(this.keys.openIncidents(), RETENTION_MS)
      .exec();
    for (const group of incident.alertGroups) await this.linkGroup(group, incident.id);
    return true;
  }

  get(id: string): Promise<Incident | undefined> {
    return this.docs.get(this.keys.incident(id));
  }

  async ofChannel(channel: string): Promise<Incident | undefined> {
    const id = await this.redis.get(this.keys.incidentOfChannel(channel));
    return id ? this.get(id) : undefined;
  }

  /** The incident declared for an alert group: declaring twice gives the first one. */
  async ofGroup(group: string): Promise<Incident | undefined> {
    const id = await this.redis.get(this.keys.incidentOfGroup(group));
    return id ? this.get(id) : undefined;
  }

  /** Claims the alert group for `id`; the id that holds it (this one, or an earlier declaration). */
  async claimGroup(group: string, id: string): Promise<string> {
    const key = this.keys.incidentOfGroup(group);
    if ((await this.redis.set(key, id, 'PX', RETENTION_MS, 'NX')) === 'OK') return id;
    return (await this.redis.get(key)) ?? id;
  }

  /**
   * Gives the alert group to `id` if `from` still holds it (an incident resolved since: the
   * alert fired again); the id that holds it after.
   */
  async takeGroupOver(group: string, from: string, id: string): Promise<string> {
    const holder = await runScript(
      this.redis,
      TAKE_OVER,
      1,
      this.keys.incidentOfGroup(group),
      from,
      id,
      RETENTION_MS,
    );
    return typeof holder === 'string' ? holder : id;
  }

  private async linkGroup(group: string, id: string): Promise<void> {
    await this.redis.set(this.keys.incidentOfGroup(group), id, 'PX', RETENTION_MS);
  }

  /** Applies a change decided against the current incident; its entry goes to the timeline. */
  async change<V>(
    id: string,
    decide: (current: Incident) => { next?: Incident; entry?: TimelineEntry; verdict: V },
  ): Promise<{ incident?: Incident; verdict: V; changed: boolean } | undefined> {
    let entry: TimelineEntry | undefined;
    const result = await this.docs.update(this.keys.incident(id), (current) => {
      if (!current) return { verdict: undefined };
      const decided = decide(current);
      entry = decided.entry;
      return { ...(decided.next ? { next: decided.next } : {}), verdict: decided.verdict };
    });
    if (result.verdict === undefined && !result.value) return undefined;
    if (result.changed && entry) await this.append(id, entry);
    return {
      ...(result.value ? { incident: result.value } : {}),
      verdict: result.verdict as V,
      changed: result.changed,
    };
  }

  /**
   * The open incidents: what a bot event may belong to. One round trip when there are none,
   * and one for all who ask while it is on its way (a batch of alert notifications asks at
   * once): an answer is at most that round trip older than a read of its own.
   */
  async open(): Promise<Incident[]> {
    this.reading ??= this.readOpen().finally(() => (this.reading = undefined));
    return [...(await this.reading)];
  }

  private reading?: Promise<Incident[]>;

  /** The newest open incidents; ids whose incident expired or was resolved are dropped from the set. */
  private async readOpen(): Promise<Incident[]> {
    const ids = await this.redis.zrange(this.keys.openIncidents(), 0, MAX_INDEXED - 1, 'REV');
    const found = await Promise.all(ids.map((id) => this.get(id)));
    const gone = ids.filter((_, i) => found[i] === undefined || found[i]!.status === 'resolved');
    if (gone.length > 0) await this.redis.zrem(this.keys.openIncidents(), ...gone);
    return found.filter((i): i is Incident => i !== undefined && i.status !== 'resolved');
  }

  /** A resolved incident takes no more bot events. */
  async closed(id: string): Promise<void> {
    await this.redis.zrem(this.keys.openIncidents(), id);
  }

  async append(id: string, entry: TimelineEntry): Promise<void> {
    await this.timelines.update(this.keys.incidentTimeline(id), (current) => ({
      next: appendEntry(current ?? emptyTimeline(), entry),
      verdict: null,
    }));
  }

  async timeline(id: string): Promise<Timeline> {
    return (await this.timelines.get(this.keys.incidentTimeline(id))) ?? emptyTimeline();
  }

  /** The newest incidents first, at most `limit`. */
  async recent(limit = 20): Promise<Incident[]> {
    const ids = await this.redis.zrevrange(this.keys.incidents(), 0, limit - 1);
    const found = await Promise.all(ids.map((id) => this.get(id)));
    return found.filter((i): i is Incident => i !== undefined);
  }
}
