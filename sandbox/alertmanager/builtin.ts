import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../../src/kernel/log';
import { AlertDispatcher, type WebhookReceiver } from './dispatcher';
import { ApiError, readJson, sendJson, sendText } from './http';
import { matches, matchesAll, parseFilter, toRegExp, type Matcher } from './matchers';
import { closeNow, listenOnLoopback } from '../loopback';

/**
 * Alertmanager's API v2 for a sandbox on a machine without prometheus-alertmanager: the
 * silences (what the bot's AlertmanagerClient and amtool's `silence` commands use), and
 * POST /api/v2/alerts, whose alerts go to one webhook receiver unless a silence holds them
 * (see AlertDispatcher). Answered as Alertmanager 0.25 answers, status codes and error
 * bodies included.
 */

type State = 'active' | 'pending' | 'expired';

interface StoredSilence {
  id: string;
  matchers: Matcher[];
  startsAt: number;
  endsAt: number;
  updatedAt: number;
  createdBy: string;
  comment: string;
}

/** Expired silences are kept this long, like Alertmanager's default --data.retention. */
const RETENTION_MS = 120 * 60 * 60 * 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
export const BUILTIN_VERSION = 'sandbox';

export interface BuiltinAlertmanagerOptions {
  /** 0 (the default) for any free port. */
  port?: number;
  clock?: () => number;
  logger?: Logger;
  /** How often held-back alerts are looked at again (default 1 s). */
  groupIntervalMs?: number;
  /** Between attempts at a webhook that failed (default 500 ms). */
  retryMs?: number;
}

export class BuiltinAlertmanager {
  private readonly silences = new Map<string, StoredSilence>();
  private readonly server: Server;
  private readonly clock: () => number;
  private readonly startedAt: number;
  private readonly dispatcher: AlertDispatcher;
  private boundPort = 0;

  constructor(private readonly options: BuiltinAlertmanagerOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.startedAt = this.clock();
    this.server = createServer((req, res) => void this.handle(req, res));
    this.dispatcher = new AlertDispatcher({
      clock: this.clock,
      silencedBy: (labels) => this.silencedBy(labels),
      externalUrl: () => this.url,
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.groupIntervalMs !== undefined ? { groupIntervalMs: options.groupIntervalMs } : {}),
      ...(options.retryMs !== undefined ? { retryMs: options.retryMs } : {}),
    });
  }

  /** The webhook receiver alerts go to (the bot's /alertmanager); until then they wait. */
  deliverTo(receiver: WebhookReceiver): void {
    this.dispatcher.deliverTo(receiver);
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  async start(): Promise<this> {
    this.boundPort = await listenOnLoopback(this.server, this.options.port);
    return this;
  }

  async stop(): Promise<void> {
    await this.dispatcher.stop();
    await closeNow(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method ?? 'GET'} ${url.pathname.replace(/\/+$/, '') || '/'}`;
    try {
      const silenceId = /^\/api\/v2\/silence\/([^/]+)$/.exec(url.pathname)?.[1];
      if (route === 'GET /-/ready' || route === 'GET /-/healthy') return sendText(res, 200, 'OK');
      if (route === 'GET /api/v2/status') return sendJson(res, 200, this.status());
      if (route === 'GET /api/v2/silences')
        return sendJson(res, 200, this.list(url.searchParams.getAll('filter')));
      if (route === 'POST /api/v2/silences')
        return sendJson(res, 200, this.post(await readJson(req, 'silence')));
      if (route === 'POST /api/v2/alerts') {
        this.dispatcher.post(await readJson(req, 'alerts'));
        return sendText(res, 200, '');
      }
      if (silenceId !== undefined && req.method === 'GET') return sendJson(res, 200, this.get(silenceId));
      if (silenceId !== undefined && req.method === 'DELETE') {
        this.expire(silenceId);
        return sendText(res, 200, '');
      }
      throw new ApiError(404, { code: 404, message: `path ${url.pathname} was not found` });
    } catch (err) {
      if (err instanceof ApiError) {
        return err.body === undefined ? sendText(res, err.status, '') : sendJson(res, err.status, err.body);
      }
      return sendJson(res, 500, (err as Error).message);
    }
  }

  private status(): Record<string, unknown> {
    return {
      cluster: { status: 'disabled', peers: [] },
      versionInfo: {
        version: BUILTIN_VERSION,
        revision: '',
        branch: '',
        buildUser: 'azora-chatops',
        buildDate: '',
        goVersion: '',
      },
      config: { original: '' },
      uptime: new Date(this.startedAt).toISOString(),
    };
  }

  /** Active first (soonest end first), then pending (soonest start first), then expired (latest end first). */
  private list(filters: string[]): unknown[] {
    this.dropOld();
    const wanted = filters.map(parseFilter);
    const rank: Record<State, number> = { active: 0, pending: 1, expired: 2 };
    return [...this.silences.values()]
      .filter((s) => matchesAll(wanted, Object.fromEntries(s.matchers.map((m) => [m.name, m.value]))))
      .map((s) => ({ silence: s, state: this.state(s) }))
      .sort((a, b) => {
        if (a.state !== b.state) return rank[a.state] - rank[b.state];
        if (a.state === 'active') return a.silence.endsAt - b.silence.endsAt;
        if (a.state === 'pending') return a.silence.startsAt - b.silence.startsAt;
        return b.silence.endsAt - a.silence.endsAt;
      })
      .map(({ silence }) => this.gettable(silence));
  }

  private get(id: string): unknown {
    const silence = this.silences.get(validId(id));
    // Alertmanager 0.25 answers an unknown id here with a bare 404.
    if (!silence) throw new ApiError(404, undefined);
    return this.gettable(silence);
  }

  /** A new silence, or (with `id`) a change to one that has not expired. */
  private post(body: unknown): { silenceID: string } {
    const input = postable(body);
    const now = this.clock();
    if (input.startsAt >= input.endsAt) {
      throw new ApiError(400, 'Failed to create silence: start time must be before end time');
    }
    if (input.endsAt < now)
      throw new ApiError(400, "Failed to create silence: end time can't be in the past");
    if (input.matchers.every((m) => matches(m, ''))) {
      throw new ApiError(400, 'invalid silence: at least one matcher must not match the empty string');
    }
    const startsAt = Math.max(input.startsAt, now);
    if (input.id) {
      const existing = this.silences.get(input.id);
      if (!existing) throw new ApiError(404, 'silence not found');
      if (this.state(existing) !== 'expired') {
        this.silences.set(existing.id, { ...existing, ...input, id: existing.id, startsAt, updatedAt: now });
        return { silenceID: existing.id };
      }
    }
    const id = randomUUID();
    this.silences.set(id, { ...input, id, startsAt, updatedAt: now });
    return { silenceID: id };
  }

  /** Ends a silence now; one already expired stays as it is, and that is no error. */
  private expire(id: string): void {
    const silence = this.silences.get(validId(id));
    if (!silence) throw new ApiError(500, 'silence not found');
    const now = this.clock();
    const state = this.state(silence);
    if (state === 'expired') return;
    this.silences.set(id, {
      ...silence,
      ...(state === 'pending' ? { startsAt: now } : {}),
      endsAt: now,
      updatedAt: now,
    });
    // What it held back goes out now rather than at the next look.
    this.dispatcher.reconsider();
  }

  /** The active silences that hold an alert with these labels back. */
  private silencedBy(labels: Record<string, string>): string[] {
    return [...this.silences.values()]
      .filter((s) => this.state(s) === 'active' && matchesAll(s.matchers, labels))
      .map((s) => s.id);
  }

  private state(s: StoredSilence): State {
    const now = this.clock();
    if (now < s.startsAt) return 'pending';
    return now < s.endsAt ? 'active' : 'expired';
  }

  private gettable(s: StoredSilence): Record<string, unknown> {
    return {
      id: s.id,
      status: { state: this.state(s) },
      updatedAt: new Date(s.updatedAt).toISOString(),
      matchers: s.matchers,
      startsAt: new Date(s.startsAt).toISOString(),
      endsAt: new Date(s.endsAt).toISOString(),
      createdBy: s.createdBy,
      comment: s.comment,
    };
  }

  private dropOld(): void {
    const horizon = this.clock() - RETENTION_MS;
    for (const [id, s] of this.silences) if (s.endsAt < horizon) this.silences.delete(id);
  }
}

function validId(id: string): string {
  const decoded = decodeURIComponent(id);
  if (!UUID.test(decoded)) {
    throw new ApiError(422, {
      code: 602,
      message: `silenceID in path must be of type uuid: ${JSON.stringify(decoded)}`,
    });
  }
  return decoded.toLowerCase();
}

function required(field: string): never {
  throw new ApiError(422, { code: 602, message: `${field} in body is required` });
}

/** The fields of a PostableSilence, checked as Alertmanager's API schema checks them. */
function postable(body: unknown): Omit<StoredSilence, 'updatedAt' | 'id'> & { id?: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, { code: 400, message: 'the silence must be a JSON object' });
  }
  const b = body as Record<string, unknown>;
  const text = (field: string): string => {
    const value = b[field];
    if (value === undefined || value === null) required(field);
    if (typeof value !== 'string') {
      throw new ApiError(422, { code: 601, message: `${field} in body must be of type string` });
    }
    return value;
  };
  const time = (field: string): number => {
    const parsed = Date.parse(text(field));
    if (Number.isNaN(parsed)) {
      throw new ApiError(422, { code: 601, message: `${field} in body must be of type date-time` });
    }
    return parsed;
  };
  if (!Array.isArray(b.matchers)) required('matchers');
  const matchers = (b.matchers as unknown[]).map((raw, i): Matcher => {
    const m = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    if (typeof m.name !== 'string') required(`matchers.${i}.name`);
    if (typeof m.value !== 'string') required(`matchers.${i}.value`);
    if (typeof m.isRegex !== 'boolean') required(`matchers.${i}.isRegex`);
    return {
      name: m.name as string,
      value: m.value as string,
      isRegex: m.isRegex as boolean,
      isEqual: typeof m.isEqual === 'boolean' ? m.isEqual : true,
    };
  });
  if (matchers.length === 0) throw new ApiError(400, 'invalid silence: at least one matcher required');
  for (const m of matchers) {
    if (!LABEL_NAME.test(m.name)) throw new ApiError(400, `invalid silence: invalid label name "${m.name}"`);
    if (m.isRegex) toRegExp(m.value);
  }
  const createdBy = text('createdBy');
  const comment = text('comment');
  if (!createdBy) throw new ApiError(400, 'invalid silence: creator information missing');
  if (!comment) throw new ApiError(400, 'invalid silence: comment missing');
  const id = typeof b.id === 'string' && b.id !== '' ? b.id.toLowerCase() : undefined;
  return {
    ...(id ? { id } : {}),
    matchers,
    startsAt: time('startsAt'),
    endsAt: time('endsAt'),
    createdBy,
    comment,
  };
}
