import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { api, event } from '@pagerduty/pdjs';
import { z } from 'zod';
import type { Config } from '../../config/env';
import { ConfigError } from '../../config/errors';
import type { Logger } from '../log';
import { PagerDutyError } from './errors';
import type { OnCall } from '../domain/oncall';

export type { OnCall } from '../domain/oncall';

const DEFAULT_EVENTS_SERVER = 'events.pagerduty.com';
const DEFAULT_API_URL = 'https://api.pagerduty.com';
/** PagerDuty cuts summaries at 1024 characters; cutting them here keeps our ellipsis visible. */
const MAX_SUMMARY = 1024;
/** /oncalls pages hold at most 100 entries; ten pages is far beyond any real rota. */
const ONCALL_PAGE_SIZE = 100;
const MAX_ONCALL_PAGES = 10;

export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';
export type PagerDutyAction = 'trigger' | 'acknowledge' | 'resolve';

export interface PagerDutyLink {
  href: string;
  text?: string;
}

export interface PagerDutyTrigger {
  /** Ties the trigger, acknowledge and resolve of one alert group to one incident. */
  dedupKey: string;
  summary: string;
  source: string;
  severity: PagerDutySeverity;
  component?: string;
  group?: string;
  details?: Record<string, unknown>;
  links?: PagerDutyLink[];
}

export interface PagerDutyOptions {
  /** Whole-request deadline, retries of a 429 included. */
  timeoutMs?: number;
  /**
   * pdjs retries a 429 three times by itself, after this pause each time, ignoring
   * Retry-After. Its default of 20 s would outlive our deadline, so it is kept short.
   */
  rateLimitRetryMs?: number;
}

type EventData = Parameters<typeof event>[0]['data'];

/**
 * node-fetch 2 options that pdjs forwards untouched but does not declare. A function
 * agent lets one options object serve both an https and a plain http base URL.
 */
interface NodeFetchExtras {
  agent?: (url: { protocol: string }) => Agent | undefined;
}

/** What pdjs resolves with, read as what it is rather than its `any`-typed fields. */
interface WireResponse {
  status: number;
  data: unknown;
  headers: { get(name: string): string | null };
}

interface Target {
  what: string;
  api: 'Events API' | 'REST API';
  host: string;
}

const oncallsSchema = z.object({
  oncalls: z.array(
    z.object({
      escalation_level: z.number(),
      escalation_policy: z.object({ id: z.string(), summary: z.string().optional() }),
      schedule: z.object({ id: z.string(), summary: z.string().optional() }).nullish(),
      user: z.object({
        id: z.string(),
        name: z.string().optional(),
        summary: z.string().optional(),
        email: z.string().optional(),
      }),
      end: z.string().nullish(),
    }),
  ),
  more: z.boolean().optional(),
});

const incidentsSchema = z.object({
  incidents: z.array(z.object({ id: z.string(), html_url: z.string().optional() })),
});

/**
 * PagerDuty through @pagerduty/pdjs: Events API v2 for paging, the REST API for who is
 * on call. pdjs neither rejects on a non-2xx answer nor times out, so both are done here.
 */
export class PagerDuty {
  private readonly log: Logger;
  private readonly events: EventsEndpoint;
  private readonly apiBase: string;
  private readonly agent?: Agent;
  private readonly timeoutMs: number;
  private readonly rateLimitRetryMs: number;

  constructor(
    private readonly config: Config['pagerduty'],
    logger: Logger,
    options: PagerDutyOptions = {},
  ) {
    this.log = logger.child({ component: 'pagerduty' });
    this.events = eventsEndpoint(config.eventsUrl);
    this.apiBase = (config.apiUrl ?? DEFAULT_API_URL).replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.rateLimitRetryMs = options.rateLimitRetryMs ?? 2_000;
    if (config.caFile) {
      // `ca` replaces Node's bundled roots, so they are kept: the extra CA is added, not substituted.
      this.agent = new Agent({ ca: [...rootCertificates, readCa(config.caFile)] });
    }
  }

  /** Events can be sent: a routing key is configured. */
  get enabled(): boolean {
    return Boolean(this.config.routingKey);
  }

  /** The REST API can be asked: an API token is configured. */
  get restEnabled(): boolean {
    return Boolean(this.config.apiToken);
  }

  /** Opens an incident, or adds to the open one with the same dedup key; resolves with that key. */
  trigger(alert: PagerDutyTrigger): Promise<string> {
    const summary =
      alert.summary.length > MAX_SUMMARY ? `${alert.summary.slice(0, MAX_SUMMARY - 1)}…` : alert.summary;
    return this.send('trigger', alert.dedupKey, {
      payload: {
        summary,
        source: alert.source,
        severity: alert.severity,
        ...(alert.component ? { component: alert.component } : {}),
        ...(alert.group ? { group: alert.group } : {}),
        ...(alert.details ? { custom_details: alert.details } : {}),
      },
      ...(alert.links?.length ? { links: alert.links } : {}),
    });
  }

  acknowledge(dedupKey: string): Promise<string> {
    return this.send('acknowledge', dedupKey);
  }

  resolve(dedupKey: string): Promise<string> {
    return this.send('resolve', dedupKey);
  }

  /** Who is on call now, per escalation policy and level. */
  async oncall(): Promise<OnCall[]> {
    const entries: OnCall[] = [];
    for (let page = 0, offset = 0; page < MAX_ONCALL_PAGES; page++) {
      const data = await this.rest('PagerDuty on-call lookup', 'GET', '/oncalls', {
        earliest: 'true',
        'include[]': ['users'],
        limit: String(ONCALL_PAGE_SIZE),
        offset: String(offset),
      });
      const parsed = oncallsSchema.safeParse(data);
      if (!parsed.success) {
        throw new PagerDutyError(
          `PagerDuty on-call lookup failed: the REST API answered in an unexpected shape (${parsed.error.issues[0]?.message ?? 'invalid'})`,
          false,
        );
      }
      for (const o of parsed.data.oncalls) {
        entries.push({
          user: o.user.name ?? o.user.summary ?? o.user.id,
          ...(o.user.email ? { email: o.user.email } : {}),
          ...(o.schedule ? { schedule: o.schedule.summary ?? o.schedule.id } : {}),
          escalationPolicy: o.escalation_policy.summary ?? o.escalation_policy.id,
          escalationPolicyId: o.escalation_policy.id,
          level: o.escalation_level,
          ...(o.end ? { until: o.end } : {}),
        });
      }
      if (!parsed.data.more || parsed.data.oncalls.length === 0) break;
      offset += parsed.data.oncalls.length;
    }
    return entries.sort(
      (a, b) =>
        a.escalationPolicy.localeCompare(b.escalationPolicy) ||
        a.level - b.level ||
        a.user.localeCompare(b.user),
    );
  }

  /**
   * The open incident an Events API dedup key opened, once PagerDuty has made it (events
   * are processed after they are accepted): its REST id and web page.
   */
  async openIncident(dedupKey: string): Promise<{ id: string; url?: string } | undefined> {
    const data = await this.rest('PagerDuty incident lookup', 'GET', '/incidents', {
      incident_key: dedupKey,
      'statuses[]': ['triggered', 'acknowledged'],
      limit: '1',
    });
    const parsed = incidentsSchema.safeParse(data);
    if (!parsed.success) {
      throw new PagerDutyError(
        'PagerDuty incident lookup failed: the REST API answered in an unexpected shape',
        false,
      );
    }
    const found = parsed.data.incidents[0];
    return found ? { id: found.id, ...(found.html_url ? { url: found.html_url } : {}) } : undefined;
  }

  /** Adds a note to an incident; PagerDuty records notes as a user's, so PAGERDUTY_FROM_EMAIL is needed. */
  async addNote(incidentId: string, content: string): Promise<void> {
    if (!this.config.fromEmail) {
      throw new PagerDutyError('PagerDuty note failed: PAGERDUTY_FROM_EMAIL is not set', false);
    }
    await this.rest('PagerDuty note', 'POST', `/incidents/${encodeURIComponent(incidentId)}/notes`, {
      note: { content },
    });
  }

  /** Drops pooled TLS sockets, for a prompt shutdown. */
  close(): void {
    this.agent?.destroy();
  }

  private async send(
    action: PagerDutyAction,
    dedupKey: string,
    extra: Pick<Partial<EventData>, 'payload' | 'links'> = {},
  ): Promise<string> {
    const target: Target = {
      what: `PagerDuty ${action} of '${dedupKey}'`,
      api: 'Events API',
      host: this.events.host,
    };
    if (!this.config.routingKey) {
      throw new PagerDutyError(`${target.what} failed: PAGERDUTY_ROUTING_KEY is not set`, false);
    }
    // Acknowledge and resolve carry no payload; pdjs's type wants one on every event.
    const data = {
      routing_key: this.config.routingKey,
      event_action: action,
      dedup_key: dedupKey,
      ...extra,
    } as EventData;
    let response: WireResponse;
    try {
      response = this.events.plainUrl
        ? await postPlainEvent(this.events.plainUrl, data, this.timeoutMs)
        : await event({
            data,
            server: this.events.host,
            requestTimeout: 0,
            retryTimeout: this.rateLimitRetryMs,
            signal: AbortSignal.timeout(this.timeoutMs),
            ...this.fetchExtras(),
          });
    } catch (err) {
      throw this.failure(err, target);
    }
    const body = check(response, target);
    const confirmed = isRecord(body) && typeof body.dedup_key === 'string' ? body.dedup_key : dedupKey;
    this.log.debug({ action, dedupKey: confirmed }, 'PagerDuty event accepted');
    return confirmed;
  }

  /** A PagerDuty maintenance window on the given services: no incidents are opened on them meanwhile. */
  async createMaintenanceWindow(window: {
    start: number;
    end: number;
    description: string;
    serviceIds: string[];
  }): Promise<string> {
    const data = await this.rest('PagerDuty maintenance window', 'POST', '/maintenance_windows', {
      maintenance_window: {
        type: 'maintenance_window',
        start_time: new Date(window.start).toISOString(),
        end_time: new Date(window.end).toISOString(),
        description: window.description,
        services: window.serviceIds.map((id) => ({ id, type: 'service_reference' })),
      },
    });
    const id = (data as { maintenance_window?: { id?: unknown } } | undefined)?.maintenance_window?.id;
    if (typeof id !== 'string') {
      throw new PagerDutyError('PagerDuty maintenance window failed: the answer carried no id', false);
    }
    return id;
  }

  /** Ends a maintenance window early (PagerDuty deletes one that is running or future). */
  async deleteMaintenanceWindow(id: string): Promise<void> {
    await this.rest(
      'PagerDuty maintenance window removal',
      'DELETE',
      `/maintenance_windows/${encodeURIComponent(id)}`,
    );
  }

  private async rest(what: string, method: string, path: string, data?: object): Promise<unknown> {
    const target: Target = { what, api: 'REST API', host: new URL(this.apiBase).host };
    if (!this.config.apiToken) {
      throw new PagerDutyError(`${what} failed: PAGERDUTY_API_TOKEN is not set`, false);
    }
    let response: WireResponse;
    try {
      response = await api({
        token: this.config.apiToken,
        url: `${this.apiBase}${path}`,
        method,
        ...(data ? { data } : {}),
        headers: this.config.fromEmail ? { From: this.config.fromEmail } : {},
        requestTimeout: 0,
        retryTimeout: this.rateLimitRetryMs,
        signal: AbortSignal.timeout(this.timeoutMs),
        ...this.fetchExtras(),
      });
    } catch (err) {
      throw this.failure(err, target);
    }
    return check(response, target);
  }

  private fetchExtras(): NodeFetchExtras {
    const agent = this.agent;
    if (!agent) return {};
    // An https.Agent given for an http:// URL makes node-fetch refuse the request.
    return { agent: (url) => (url.protocol === 'https:' ? agent : undefined) };
  }

  private failure(err: unknown, target: Target): PagerDutyError {
    if (err instanceof PagerDutyError) return err;
    // pdjs rejects with the Response itself when a REST answer is not JSON (a proxy's HTML page).
    if (isResponse(err)) {
      return statusError(err.status, undefined, err.headers.get('retry-after'), target);
    }
    const name = err instanceof Error ? err.name : '';
    const code = errorCode(err);
    const reason = err instanceof Error ? err.message : String(err);
    if (name === 'AbortError' || name === 'TimeoutError') {
      return new PagerDutyError(
        `${target.what} failed: the PagerDuty ${target.api} at ${target.host} did not answer within ${this.timeoutMs / 1000} s`,
        true,
      );
    }
    if (code === 'EPROTO') {
      return new PagerDutyError(
        `${target.what} failed: TLS problem with the PagerDuty ${target.api} at ${target.host}: ` +
          'it does not speak TLS (EPROTO); is it an http:// server?',
        false,
      );
    }
    if (code && isTlsCode(code)) {
      // A retry cannot fix a certificate nobody trusts; an operator has to.
      return new PagerDutyError(
        `${target.what} failed: TLS problem with the PagerDuty ${target.api} at ${target.host} (${code}: ${tlsReason(reason)}); ` +
          'if it uses a private CA, point PAGERDUTY_CA_FILE at that CA',
        false,
      );
    }
    if (isRecord(err) && err.type === 'invalid-json') {
      return new PagerDutyError(
        `${target.what} failed: the PagerDuty ${target.api} at ${target.host} answered with something that is not JSON`,
        true,
      );
    }
    this.log.debug({ err, host: target.host }, 'PagerDuty request failed');
    return new PagerDutyError(
      `${target.what} failed: the PagerDuty ${target.api} at ${target.host} is unreachable (${code ?? reason})`,
      true,
    );
  }
}

/**
 * Where events go: the host[:port] pdjs posts to (https only, always /v2/enqueue), or, for
 * a plain http Events URL (a local fake, a proxy on the pod's network), that URL itself,
 * which pdjs cannot reach.
 */
interface EventsEndpoint {
  host: string;
  plainUrl?: string;
}

function eventsEndpoint(eventsUrl: string | undefined): EventsEndpoint {
  if (!eventsUrl) return { host: DEFAULT_EVENTS_SERVER };
  const url = new URL(eventsUrl);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`PAGERDUTY_EVENTS_URL: expected an http(s):// URL, got ${url.protocol}//`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (path !== '' && path !== '/v2/enqueue') {
    throw new ConfigError(
      `PAGERDUTY_EVENTS_URL: expected http(s)://host[:port], without a path (events always go to /v2/enqueue), got ${url.pathname}`,
    );
  }
  return url.protocol === 'https:'
    ? { host: url.host }
    : { host: url.host, plainUrl: `http://${url.host}/v2/enqueue` };
}

/** An event posted over plain http with Node's fetch, answered as pdjs answers. */
async function postPlainEvent(url: string, data: EventData, timeoutMs: number): Promise<WireResponse> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(data),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  try {
    return {
      status: res.status,
      data: text ? (JSON.parse(text) as unknown) : undefined,
      headers: res.headers,
    };
  } catch {
    // As pdjs does for an answer that is not JSON: a 2xx too is no proof the event arrived.
    if (res.ok) throw Object.assign(new Error('the answer is not JSON'), { type: 'invalid-json' });
    return { status: res.status, data: undefined, headers: res.headers };
  }
}

function readCa(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`PAGERDUTY_CA_FILE: cannot read ${file} (${errorCode(err) ?? String(err)})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(`PAGERDUTY_CA_FILE: ${file} holds no PEM certificate`);
  }
  return pem;
}

/** The body of a 2xx answer; anything else becomes a PagerDutyError. */
function check(response: WireResponse, target: Target): unknown {
  if (response.status >= 200 && response.status < 300) return response.data;
  throw statusError(response.status, response.data, response.headers.get('retry-after'), target);
}

function statusError(
  status: number,
  body: unknown,
  retryAfter: string | null,
  target: Target,
): PagerDutyError {
  const detail = bodyMessage(body);
  const code = `(${status}${detail ? `: ${detail}` : ''})`;
  const api = `the PagerDuty ${target.api}`;
  const fail = (reason: string, transient: boolean, retryAfterMs?: number) =>
    new PagerDutyError(`${target.what} failed: ${reason} ${code}`, transient, status, retryAfterMs);
  switch (true) {
    case status === 401:
      return target.api === 'REST API'
        ? fail(`authentication failed: ${api} refused the API token, check PAGERDUTY_API_TOKEN`, false)
        : fail(`authentication failed: ${api} refused the routing key, check PAGERDUTY_ROUTING_KEY`, false);
    case status === 403:
      return fail(`${api} does not allow this token to do that`, false);
    case status === 404:
      return fail(`${api} at ${target.host} has no such resource`, false);
    case status === 429: {
      const seconds = Number(retryAfter);
      const retryAfterMs = retryAfter !== null && Number.isFinite(seconds) ? seconds * 1000 : undefined;
      return fail(`${api} is rate-limiting us`, true, retryAfterMs);
    }
    case status >= 500:
      return fail(`${api} failed on its side`, true);
    case status === 400:
      return fail(`${api} rejected the request as invalid`, false);
    default:
      return fail(`${api} refused the request`, false);
  }
}

/**
 * The error text of either API: events say `{message, errors[]}`, REST says
 * `{error: {message, errors[]}}`.
 */
function bodyMessage(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  const source = isRecord(body.error) ? body.error : body;
  const parts: string[] = [];
  if (typeof source.message === 'string') parts.push(source.message);
  if (Array.isArray(source.errors)) parts.push(...source.errors.filter((e) => typeof e === 'string'));
  return parts.length > 0 ? parts.join('; ') : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isResponse(value: unknown): value is WireResponse {
  return (
    isRecord(value) &&
    !(value instanceof Error) &&
    typeof value.status === 'number' &&
    isRecord(value.headers) &&
    typeof value.headers.get === 'function'
  );
}

function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && isRecord(current); depth++) {
    if (typeof current.code === 'string') return current.code;
    current = current.cause;
  }
  return undefined;
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

function isTlsCode(code: string): boolean {
  return TLS_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_');
}

/** node-fetch wraps the socket error as "request to … failed, reason: <what TLS said>". */
function tlsReason(message: string): string {
  return message.split('reason: ').pop() ?? message;
}
