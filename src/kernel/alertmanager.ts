import { systemClock, type Clock } from './clock';
import { z } from 'zod';
import type { Logger } from './log';
import { errorCode } from './http/error-code';

const REQUEST_TIMEOUT_MS = 10_000;

export type AlertmanagerErrorKind = 'unreachable' | 'timeout' | 'unavailable' | 'not-found' | 'rejected';

/**
 * An Alertmanager failure as the bot reports it: whether retrying can help, and a
 * sentence an engineer on call can act on.
 */
export class AlertmanagerError extends Error {
  override readonly name = 'AlertmanagerError';
  constructor(
    readonly kind: AlertmanagerErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }

  /** Worth retrying with backoff: Alertmanager was down, slow, or failing on its side. */
  get transient(): boolean {
    return this.kind === 'unreachable' || this.kind === 'timeout' || this.kind === 'unavailable';
  }
}

export type SilenceState = 'active' | 'pending' | 'expired';

export interface SilenceMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  /** false for `!=` and `!~`; Alertmanager omits it on silences made before 0.22, meaning true. */
  isEqual: boolean;
}

export interface Silence {
  id: string;
  matchers: SilenceMatcher[];
  status: { state: SilenceState };
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

export interface NewSilence {
  /** Equality matchers, label name to value; at least one, as Alertmanager requires. */
  matchers: Record<string, string>;
  durationMs: number;
  createdBy: string;
  comment: string;
}

export interface AlertmanagerStatus {
  version: string;
  /** When this Alertmanager started (RFC 3339). */
  uptime: string;
  /** 'disabled' for a single instance, otherwise 'ready' or 'settling'. */
  cluster: string;
}

const silenceSchema = z.object({
  id: z.string().min(1),
  matchers: z.array(
    z.object({
      name: z.string(),
      value: z.string(),
      isRegex: z.boolean(),
      isEqual: z.boolean().default(true),
    }),
  ),
  status: z.object({ state: z.enum(['active', 'pending', 'expired']) }),
  startsAt: z.string(),
  endsAt: z.string(),
  createdBy: z.string(),
  comment: z.string(),
});

const createdSchema = z.object({ silenceID: z.string().min(1) });

const statusSchema = z.object({
  cluster: z.object({ status: z.string() }),
  versionInfo: z.object({ version: z.string() }),
  uptime: z.string(),
});

/** ALERTMANAGER_URL's peers: one URL, or several separated by commas. */
export const alertmanagerUrls = (value: string): string[] =>
  value
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');

/** Undici rejects URLs with user:password, so credentials in ALERTMANAGER_URL become a header. */
function splitCredentials(baseUrl: string): { base: string; authorization?: string } {
  const url = new URL(baseUrl);
  let authorization: string | undefined;
  if (url.username || url.password) {
    const pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  return { base: url.toString().replace(/\/+$/, ''), authorization };
}

/** Alertmanager's error bodies are a JSON string or `{ code, message }`; either way, one line. */
function errorDetail(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'string') return parsed;
    if (
      parsed &&
      typeof parsed === 'object' &&
      typeof (parsed as { message?: unknown }).message === 'string'
    ) {
      return (parsed as { message: string }).message;
    }
  } catch {
    // not JSON: a proxy's page or plain text, shown as it is
  }
  return body.trim().replace(/\s+/g, ' ').slice(0, 200);
}

/** Silences through Alertmanager's API v2, and its status for readiness checks. */
export class AlertmanagerClient {
  private readonly peers: { base: string; authorization?: string }[];
  private readonly log: Logger;

  /**
   * `baseUrl`: one Alertmanager, or the peers of an HA cluster separated by commas. The
   * peers share their silences, so each request goes to the first that answers: one that
   * cannot be reached hands it to the next, and so does one that times out or answers 5xx
   * to anything but a new silence (which it may have made).
   */
  constructor(
    baseUrl: string,
    logger: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    this.peers = alertmanagerUrls(baseUrl).map(splitCredentials);
    this.log = logger.child({ component: 'alertmanager' });
  }

  async createSilence(silence: NewSilence): Promise<{ id: string; endsAt: string }> {
    const matchers = Object.entries(silence.matchers).map(([name, value]) => ({
      name,
      value,
      isRegex: false,
      isEqual: true,
    }));
    const what = `silencing ${matchers.map((m) => `${m.name}="${m.value}"`).join(', ') || 'nothing'}`;
    // Alertmanager would answer 422 for both; saying it here names the mistake plainly.
    if (matchers.length === 0) {
      throw new AlertmanagerError('rejected', 'silencing: a silence needs at least one label matcher');
    }
    if (!(silence.durationMs > 0)) {
      throw new AlertmanagerError('rejected', `${what}: the duration must be above zero`);
    }
    const now = this.clock.now();
    const endsAt = new Date(now + silence.durationMs).toISOString();
    const body = await this.request('POST', '/api/v2/silences', what, {
      matchers,
      startsAt: new Date(now).toISOString(),
      endsAt,
      createdBy: silence.createdBy,
      comment: silence.comment,
    });
    const { silenceID } = this.parse(createdSchema, body, what);
    this.log.info({ silenceId: silenceID, matchers: silence.matchers, endsAt }, 'silence created');
    return { id: silenceID, endsAt };
  }

  /** Expiring an already expired silence succeeds again, so a retried click is harmless. */
  async expireSilence(id: string): Promise<void> {
    const what = `expiring silence ${id}`;
    try {
      await this.request('DELETE', `/api/v2/silence/${encodeURIComponent(id)}`, what);
    } catch (err) {
      // 0.25 answers 422 for an id that is not a UUID: for the caller that is no such silence either.
      if (err instanceof AlertmanagerError && err.status === 422) {
        throw new AlertmanagerError('not-found', `${what}: Alertmanager has no such silence`, err.status);
      }
      throw err;
    }
    this.log.info({ silenceId: id }, 'silence expired');
  }

  async listSilences(): Promise<Silence[]> {
    const what = 'listing silences';
    return this.parse(z.array(silenceSchema), await this.request('GET', '/api/v2/silences', what), what);
  }

  async status(): Promise<AlertmanagerStatus> {
    const what = 'asking Alertmanager for its status';
    const parsed = this.parse(statusSchema, await this.request('GET', '/api/v2/status', what), what);
    return { version: parsed.versionInfo.version, uptime: parsed.uptime, cluster: parsed.cluster.status };
  }

  private async request(method: string, path: string, what: string, payload?: unknown): Promise<unknown> {
    for (const [i, peer] of this.peers.entries()) {
      try {
        return await this.requestOf(peer, method, path, what, payload);
      } catch (err) {
        const last = i === this.peers.length - 1;
        // A POST that may have reached a peer that then failed (a timeout, a 5xx) is not made
        // again elsewhere: the silence could be made twice. One that reached none is.
        const next =
          err instanceof AlertmanagerError &&
          (method === 'POST' ? err.kind === 'unreachable' : err.transient);
        if (last || !next) throw err;
        this.log.warn(
          { peer: peer.base, err: err.message },
          'Alertmanager peer did not answer; asking the next',
        );
      }
    }
    throw new Error('no Alertmanager peer configured');
  }

  private async requestOf(
    peer: { base: string; authorization?: string },
    method: string,
    path: string,
    what: string,
    payload?: unknown,
  ): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (peer.authorization) headers.authorization = peer.authorization;
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${peer.base}${path}`, {
        method,
        headers,
        body: payload === undefined ? undefined : JSON.stringify(payload),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await res.text();
    } catch (err) {
      throw this.networkError(err, what, peer.base);
    }
    if (!res.ok) throw this.httpError(res.status, text, what);
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new AlertmanagerError(
        'rejected',
        `${what}: Alertmanager answered ${res.status} with something that is not JSON (${errorDetail(text)}); ` +
          `is ALERTMANAGER_URL pointing at Alertmanager?`,
        res.status,
      );
    }
  }

  private parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
    const result = schema.safeParse(body);
    if (result.success) return result.data;
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new AlertmanagerError(
      'rejected',
      `${what}: Alertmanager's answer has an unexpected shape${where} (${issue?.message ?? 'invalid'})`,
    );
  }

  private networkError(err: unknown, what: string, base: string): AlertmanagerError {
    this.log.debug({ err, what }, 'Alertmanager request failed');
    const name = err instanceof Error ? err.name : '';
    const code = errorCode(err);
    if (name === 'TimeoutError' || name === 'AbortError' || code === 'ETIMEDOUT') {
      return new AlertmanagerError(
        'timeout',
        `${what}: Alertmanager at ${base} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`,
      );
    }
    const reason = code ?? (err instanceof Error ? err.message : String(err));
    return new AlertmanagerError(
      'unreachable',
      `${what}: Alertmanager at ${base} is unreachable (${reason})`,
    );
  }

  private httpError(status: number, body: string, what: string): AlertmanagerError {
    const detail = errorDetail(body) || `HTTP ${status}`;
    // 0.25 answers an unknown silence id with 500 "silence not found" (later releases with
    // 404); retrying that would never help.
    if (/silence not found/i.test(detail)) {
      return new AlertmanagerError('not-found', `${what}: Alertmanager has no such silence`, status);
    }
    if (status === 404) {
      return new AlertmanagerError(
        'not-found',
        `${what}: Alertmanager answered 404 (${detail}); is ALERTMANAGER_URL its base URL, with any route prefix?`,
        status,
      );
    }
    if (status === 401 || status === 403) {
      return new AlertmanagerError(
        'rejected',
        `${what}: Alertmanager refused the bot's credentials (${detail}); check ALERTMANAGER_URL`,
        status,
      );
    }
    if (status >= 500 || status === 429) {
      return new AlertmanagerError(
        'unavailable',
        `${what}: Alertmanager answered ${status} (${detail})`,
        status,
      );
    }
    return new AlertmanagerError(
      'rejected',
      `${what}: Alertmanager rejected the request (${detail})`,
      status,
    );
  }
}
