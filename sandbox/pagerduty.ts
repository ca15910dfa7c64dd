import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { BodyTooLarge, readBody } from '../src/kernel/http/body';
import { selfSignedCertificate } from './cluster/tls';
import { waitForRecorded } from './recorded';
import { closeNow, listenOnLoopback } from './loopback';
import { sendJson } from '../src/kernel/http/json';

export type SimulatedEventAction = 'trigger' | 'acknowledge' | 'resolve';
export type SimulatedIncidentStatus = 'triggered' | 'acknowledged' | 'resolved';

/** One POST to /v2/enqueue as the simulated PagerDuty received it, accepted or not. */
export interface RecordedEvent {
  at: number;
  status: number;
  action?: string;
  dedupKey?: string;
  routingKey?: string;
  body: Record<string, unknown>;
}

/** One REST call, for tests that check what the bot asked. */
export interface RecordedRequest {
  at: number;
  method: string;
  path: string;
  query: URLSearchParams;
  status: number;
  from?: string;
}

export interface SimulatedIncident {
  id: string;
  number: number;
  dedupKey: string;
  status: SimulatedIncidentStatus;
  title: string;
  severity: string;
  source: string;
  details?: unknown;
  links: unknown[];
  /** Triggers that landed on this incident while it was open, the first included. */
  alerts: number;
  createdAt: string;
  lastStatusChangeAt: string;
  /** Notes added through the REST API, oldest first, with the user (From) who added each. */
  notes: { content: string; from: string }[];
}

export interface SimulatedOnCallEntry {
  name: string;
  email: string;
  escalationPolicy: string;
  level: number;
  schedule?: string;
  /** End of the shift (ISO 8601); absent for a permanent assignment. */
  until?: string;
}

export interface SimulatedPagerDutyOptions {
  /** Port of the HTTPS server (events and REST); 0 or absent picks a free one. */
  port?: number;
  /** Port of the plain HTTP server (REST and events); 0 or absent picks a free one. */
  apiPort?: number;
  routingKey?: string;
  apiToken?: string;
  fromEmail?: string;
  oncall?: SimulatedOnCallEntry[];
  retryAfterSeconds?: number;
}

export interface FaultOptions {
  retryAfterSeconds?: number;
  /** Waits this long before answering, to play a slow PagerDuty. */
  delayMs?: number;
  /** Answers this text instead of a JSON body, as a proxy's error page would. */
  rawBody?: string;
}

interface Fault extends FaultOptions {
  path: string;
  status: number;
  /** Only the delay: then the request is answered as usual. */
  passThrough?: boolean;
  remaining: number;
}

const ACTIONS = new Set(['trigger', 'acknowledge', 'resolve']);
const SEVERITIES = new Set(['critical', 'error', 'warning', 'info']);
/** The Events API's own limit on a request body. */
const MAX_EVENT_BYTES = 512 * 1024;

/** The escalation policy the simulated on-call people are on: its id, as /oncalls gives it. */
export const SANDBOX_ESCALATION_POLICY_NAME = 'Azora Platform';

const DEFAULT_ONCALL: SimulatedOnCallEntry[] = [
  {
    name: 'Amara Okafor',
    email: 'amara.okafor@azora.example',
    escalationPolicy: SANDBOX_ESCALATION_POLICY_NAME,
    level: 1,
    schedule: 'Azora Primary',
  },
  {
    name: 'Jonas Weber',
    email: 'jonas.weber@azora.example',
    escalationPolicy: SANDBOX_ESCALATION_POLICY_NAME,
    level: 2,
    schedule: 'Azora Secondary',
  },
];

/**
 * A PagerDuty that speaks the Events API v2 enqueue endpoint and the REST calls the bot
 * makes (/oncalls, /incidents). pdjs only sends events over https, so the same routes
 * are served by an HTTPS server with a throw-away certificate (`eventsUrl`, trust it
 * through `caPem`) and by a plain HTTP server (`apiUrl`).
 */
export class SimulatedPagerDuty extends EventEmitter {
  readonly events: RecordedEvent[] = [];
  readonly requests: RecordedRequest[] = [];
  readonly incidents: SimulatedIncident[] = [];
  /** Maintenance windows by id, as the bot created them. */
  readonly maintenanceWindows = new Map<string, Record<string, unknown>>();
  readonly routingKey: string;
  readonly apiToken: string;
  readonly fromEmail: string;
  /** PEM of the self-signed certificate the HTTPS server presents; it is its own CA. */
  readonly caPem: string;
  private readonly keyPem: string;
  private readonly oncall: SimulatedOnCallEntry[];
  private readonly faults: Fault[] = [];
  private readonly delays = new Set<NodeJS.Timeout>();
  private readonly startedAt = new Date().toISOString();
  private tlsServer?: Server;
  private plainServer?: Server;

  constructor(private readonly options: SimulatedPagerDutyOptions = {}) {
    super();
    this.routingKey = options.routingKey ?? 'azorasandboxroutingkey0000000000';
    this.apiToken = options.apiToken ?? 'pd-sandbox-token';
    this.fromEmail = options.fromEmail ?? 'chatops@azora.example';
    this.oncall = options.oncall ?? DEFAULT_ONCALL;
    const { certPem, keyPem } = selfSignedCertificate(['127.0.0.1', 'localhost', '::1']);
    this.caPem = certPem;
    this.keyPem = keyPem;
  }

  async start(): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.tlsServer = createHttpsServer({ cert: this.caPem, key: this.keyPem }, handler);
    this.plainServer = createHttpServer(handler);
    await listenOnLoopback(this.tlsServer, this.options.port);
    await listenOnLoopback(this.plainServer, this.options.apiPort);
    return this;
  }

  /** PAGERDUTY_EVENTS_URL: the HTTPS server, since pdjs posts events over https only. */
  get eventsUrl(): string {
    return `https://127.0.0.1:${port(this.tlsServer)}`;
  }

  /** PAGERDUTY_API_URL: the plain HTTP server. */
  get apiUrl(): string {
    return `http://127.0.0.1:${port(this.plainServer)}`;
  }

  /** The same REST routes over HTTPS, for a client that needs PAGERDUTY_CA_FILE there too. */
  get apiTlsUrl(): string {
    return this.eventsUrl;
  }

  /** Writes `caPem` where PAGERDUTY_CA_FILE will point, and returns that path. */
  async writeCa(file: string): Promise<string> {
    await writeFile(file, this.caPem, { mode: 0o644 });
    return file;
  }

  /** The PAGERDUTY_* environment that points the bot here; without `caFile` TLS stays untrusted. */
  env(caFile?: string): Record<string, string> {
    return {
      PAGERDUTY_ROUTING_KEY: this.routingKey,
      PAGERDUTY_API_TOKEN: this.apiToken,
      PAGERDUTY_FROM_EMAIL: this.fromEmail,
      PAGERDUTY_EVENTS_URL: this.eventsUrl,
      PAGERDUTY_API_URL: this.apiUrl,
      ...(caFile ? { PAGERDUTY_CA_FILE: caFile } : {}),
    };
  }

  /**
   * Makes the next `times` requests to `path` (`/v2/enqueue`, `/oncalls`, …) answer
   * `status`, as a failing PagerDuty would; a 429 carries Retry-After.
   */
  failNext(path: string, status: number, times = 1, options: FaultOptions = {}): void {
    this.faults.push({ path, status, remaining: times, ...options });
  }

  /** Makes the next `times` requests to `path` wait `delayMs`, then answers them as usual: a slow PagerDuty. */
  slowNext(path: string, delayMs: number, times = 1): void {
    this.faults.push({ path, status: 0, remaining: times, delayMs, passThrough: true });
  }

  /** The latest incident opened under `dedupKey`. */
  incident(dedupKey: string): SimulatedIncident | undefined {
    return this.incidents.filter((i) => i.dedupKey === dedupKey).at(-1);
  }

  /** Resolves with the first recorded event that satisfies `test`, waiting for it if need be. */
  waitForEvent(test: (event: RecordedEvent) => boolean, timeoutMs = 10_000): Promise<RecordedEvent> {
    return waitForRecorded(this, 'event', this.events, test, timeoutMs, 'simulated PagerDuty');
  }

  async stop(): Promise<void> {
    for (const timer of this.delays) clearTimeout(timer);
    this.delays.clear();
    await Promise.all([closeNow(this.tlsServer), closeNow(this.plainServer)]);
    this.tlsServer = undefined;
    this.plainServer = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://pagerduty.invalid');
    let raw: string;
    try {
      raw = (await readBody(req, MAX_EVENT_BYTES)).toString('utf8');
    } catch (err) {
      // Anything else is a client that went away mid-body: nobody is left to answer.
      if (!(err instanceof BodyTooLarge)) return void res.destroy();
      return sendJson(res, 413, { status: 'invalid event', message: err.message, errors: [] });
    }
    const fault = this.takeFault(url.pathname);
    if (fault?.delayMs) await this.pause(fault.delayMs);
    if (res.destroyed) return;
    if (fault && !fault.passThrough) {
      if (url.pathname === '/v2/enqueue') this.recordEvent(safeRecord(raw), fault.status);
      else this.recordRequest(req, url, fault.status);
      const retryAfter = fault.retryAfterSeconds ?? this.options.retryAfterSeconds ?? 1;
      const headers: Record<string, string> =
        fault.status === 429 ? { 'retry-after': String(retryAfter) } : {};
      if (fault.rawBody !== undefined) {
        res.writeHead(fault.status, { 'content-type': 'text/html', ...headers });
        res.end(fault.rawBody);
        return;
      }
      const body =
        url.pathname === '/v2/enqueue'
          ? { status: 'error', message: faultMessage(fault.status), errors: [] }
          : { error: { message: faultMessage(fault.status), errors: [] } };
      return sendJson(res, fault.status, body, headers);
    }
    if (req.method === 'POST' && url.pathname === '/v2/enqueue') return this.enqueue(raw, res);
    if (url.pathname.startsWith('/maintenance_windows')) return this.maintenanceWindow(req, url, raw, res);
    if (req.method === 'POST' && /^\/incidents\/[^/]+\/notes$/.test(url.pathname))
      return this.addNote(req, url, raw, res);
    if (req.method === 'GET' && (url.pathname === '/oncalls' || url.pathname === '/incidents')) {
      if (req.headers.authorization !== `Token token=${this.apiToken}`) {
        this.recordRequest(req, url, 401);
        return sendJson(res, 401, { error: { message: 'Authentication failed', errors: [] } });
      }
      this.recordRequest(req, url, 200);
      return sendJson(res, 200, url.pathname === '/oncalls' ? this.oncalls(url) : this.listIncidents(url));
    }
    this.recordRequest(req, url, 404);
    return sendJson(res, 404, { error: { message: 'Not Found', errors: [] } });
  }

  /**
   * POST /incidents/{id}/notes as PagerDuty answers it: the token, a `From` header naming a
   * user, and `note.content` are required; a note on an unknown incident is 404.
   */
  private addNote(req: IncomingMessage, url: URL, raw: string, res: ServerResponse): void {
    const refuse = (status: number, message: string, errors: string[] = []) => {
      this.recordRequest(req, url, status);
      sendJson(res, status, { error: { message, errors } });
    };
    if (req.headers.authorization !== `Token token=${this.apiToken}`)
      return refuse(401, 'Authentication failed');
    const from = req.headers.from;
    if (typeof from !== 'string' || !from.includes('@'))
      return refuse(400, 'Invalid Input Provided', ['A valid From header is required.']);
    const incident = this.incidents.find(
      (i) => i.id === decodeURIComponent(url.pathname.split('/')[2] ?? ''),
    );
    if (!incident) return refuse(404, 'Not Found');
    let content: unknown;
    try {
      const body: unknown = JSON.parse(raw || '{}');
      content = isRecord(body) && isRecord(body.note) ? body.note.content : undefined;
    } catch {
      return refuse(400, 'Invalid Input Provided', ['Malformed JSON']);
    }
    if (typeof content !== 'string' || content.trim() === '')
      return refuse(400, 'Invalid Input Provided', ['Note content is required.']);
    incident.notes.push({ content, from });
    this.recordRequest(req, url, 201);
    sendJson(res, 201, {
      note: {
        id: `PN${incident.notes.length}`,
        content,
        user: reference('user', from),
        created_at: new Date().toISOString(),
      },
    });
  }

  /** POST creates a window (answered 201 with its id), DELETE removes one (answered with an empty object). */
  private maintenanceWindow(req: IncomingMessage, url: URL, raw: string, res: ServerResponse): void {
    if (req.headers.authorization !== `Token token=${this.apiToken}`) {
      this.recordRequest(req, url, 401);
      return sendJson(res, 401, { error: { message: 'Authentication failed', errors: [] } });
    }
    if (req.method === 'POST' && url.pathname === '/maintenance_windows') {
      const body: unknown = JSON.parse(raw || '{}');
      const window =
        isRecord(body) && isRecord(body.maintenance_window) ? body.maintenance_window : undefined;
      if (!window || typeof window.start_time !== 'string' || typeof window.end_time !== 'string') {
        this.recordRequest(req, url, 400);
        return sendJson(res, 400, {
          error: { message: 'Invalid Input Provided', errors: ['start_time and end_time'] },
        });
      }
      const id = `PMW${String(this.maintenanceWindows.size + 1).padStart(4, '0')}`;
      this.maintenanceWindows.set(id, { id, ...window });
      this.recordRequest(req, url, 201);
      return sendJson(res, 201, { maintenance_window: { id, ...window } });
    }
    const id = decodeURIComponent(url.pathname.split('/')[2] ?? '');
    const found = this.maintenanceWindows.get(id);
    // As PagerDuty: a future window is deleted, a running one ended; one that ended stays.
    if (req.method === 'DELETE' && found && Date.parse(String(found.end_time)) <= Date.now()) {
      this.recordRequest(req, url, 405);
      return sendJson(res, 405, {
        error: { message: 'Cannot delete a maintenance window that has ended', errors: [] },
      });
    }
    if (req.method === 'DELETE' && this.maintenanceWindows.delete(id)) {
      this.recordRequest(req, url, 200);
      return sendJson(res, 200, {});
    }
    this.recordRequest(req, url, 404);
    return sendJson(res, 404, { error: { message: 'Not Found', errors: [] } });
  }

  private enqueue(raw: string, res: ServerResponse): void {
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(raw);
      body = isRecord(parsed) ? parsed : {};
    } catch {
      this.recordEvent({}, 400);
      return sendJson(res, 400, {
        status: 'invalid event',
        message: 'Event object is invalid',
        errors: ['Malformed JSON'],
      });
    }
    const errors = this.validate(body);
    if (errors.length > 0) {
      this.recordEvent(body, 400);
      return sendJson(res, 400, { status: 'invalid event', message: 'Event object is invalid', errors });
    }
    const action = body.event_action as SimulatedEventAction;
    const dedupKey = typeof body.dedup_key === 'string' && body.dedup_key ? body.dedup_key : randomHex();
    this.apply(action, dedupKey, body);
    this.recordEvent({ ...body, dedup_key: dedupKey }, 202);
    sendJson(res, 202, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
  }

  private validate(body: Record<string, unknown>): string[] {
    const errors: string[] = [];
    const blank = (v: unknown) => typeof v !== 'string' || v.trim() === '';
    if (blank(body.routing_key)) errors.push("'routing_key' is missing or blank");
    else if (body.routing_key !== this.routingKey) errors.push('Invalid routing key');
    if (typeof body.event_action !== 'string' || !ACTIONS.has(body.event_action)) {
      errors.push("'event_action' is invalid (expected trigger, acknowledge or resolve)");
    }
    if (body.event_action !== 'trigger') {
      if (blank(body.dedup_key)) errors.push("'dedup_key' is missing or blank");
      return errors;
    }
    const payload = isRecord(body.payload) ? body.payload : undefined;
    if (!payload) return [...errors, "'payload' is missing or not an object"];
    if (blank(payload.summary)) errors.push("'payload.summary' is missing or blank");
    if (blank(payload.source)) errors.push("'payload.source' is missing or blank");
    if (typeof payload.severity !== 'string' || !SEVERITIES.has(payload.severity)) {
      errors.push("'payload.severity' is invalid (expected critical, error, warning or info)");
    }
    return errors;
  }

  /**
   * PagerDuty's dedup rules: a trigger joins the open incident of its key or opens one;
   * acknowledge and resolve act on the open incident and are accepted even without one.
   */
  private apply(action: SimulatedEventAction, dedupKey: string, body: Record<string, unknown>): void {
    const latest = this.incident(dedupKey);
    const open = latest && latest.status !== 'resolved' ? latest : undefined;
    const now = new Date().toISOString();
    if (action === 'trigger') {
      if (open) {
        open.alerts += 1;
        return;
      }
      const payload = body.payload as Record<string, unknown>;
      const incident: SimulatedIncident = {
        id: `Q${randomHex().slice(0, 13).toUpperCase()}`,
        number: this.incidents.length + 1,
        dedupKey,
        status: 'triggered',
        title: String(payload.summary),
        severity: String(payload.severity),
        source: String(payload.source),
        ...(payload.custom_details !== undefined ? { details: payload.custom_details } : {}),
        links: Array.isArray(body.links) ? body.links : [],
        alerts: 1,
        notes: [],
        createdAt: now,
        lastStatusChangeAt: now,
      };
      this.incidents.push(incident);
      this.emit('incident', incident);
      return;
    }
    if (!open) return;
    const next: SimulatedIncidentStatus = action === 'acknowledge' ? 'acknowledged' : 'resolved';
    if (open.status === next) return;
    open.status = next;
    open.lastStatusChangeAt = now;
    this.emit('incident', open);
  }

  private oncalls(url: URL): Record<string, unknown> {
    const users = url.searchParams.getAll('include[]').includes('users');
    const policies = url.searchParams.getAll('escalation_policy_ids[]');
    const schedules = url.searchParams.getAll('schedule_ids[]');
    const all = this.oncall
      .map((entry) => ({
        escalation_policy: reference('escalation_policy', entry.escalationPolicy),
        escalation_level: entry.level,
        schedule: entry.schedule ? reference('schedule', entry.schedule) : null,
        user: users
          ? { ...reference('user', entry.name), type: 'user', name: entry.name, email: entry.email }
          : reference('user', entry.name),
        start: entry.schedule ? this.startedAt : null,
        end: entry.until ?? null,
      }))
      .filter((o) => policies.length === 0 || policies.includes(o.escalation_policy.id))
      .filter((o) => schedules.length === 0 || (o.schedule !== null && schedules.includes(o.schedule.id)));
    const { items, ...paging } = page(all, url);
    return { oncalls: items, ...paging };
  }

  private listIncidents(url: URL): Record<string, unknown> {
    const statuses = url.searchParams.getAll('statuses[]');
    const keys = url.searchParams.getAll('incident_key');
    const all = this.incidents
      .filter((i) => statuses.length === 0 || statuses.includes(i.status))
      .filter((i) => keys.length === 0 || keys.includes(i.dedupKey))
      .map((i) => ({
        id: i.id,
        type: 'incident',
        summary: `[#${i.number}] ${i.title}`,
        incident_number: i.number,
        title: i.title,
        status: i.status,
        urgency: i.severity === 'critical' || i.severity === 'error' ? 'high' : 'low',
        incident_key: i.dedupKey,
        html_url: `https://azora-sandbox.pagerduty.com/incidents/${i.id}`,
        created_at: i.createdAt,
        last_status_change_at: i.lastStatusChangeAt,
        service: reference('service', 'Azora (simulated)'),
      }));
    const { items, ...paging } = page(all, url);
    return { incidents: items, ...paging };
  }

  private recordEvent(body: Record<string, unknown>, status: number): void {
    const event: RecordedEvent = {
      at: Date.now(),
      status,
      body,
      ...(typeof body.event_action === 'string' ? { action: body.event_action } : {}),
      ...(typeof body.dedup_key === 'string' ? { dedupKey: body.dedup_key } : {}),
      ...(typeof body.routing_key === 'string' ? { routingKey: body.routing_key } : {}),
    };
    this.events.push(event);
    this.emit('event', event);
  }

  private recordRequest(req: IncomingMessage, url: URL, status: number): void {
    const from = req.headers.from;
    this.requests.push({
      at: Date.now(),
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      status,
      ...(typeof from === 'string' ? { from } : {}),
    });
  }

  private takeFault(path: string): Fault | undefined {
    const index = this.faults.findIndex((f) => f.path === path && f.remaining > 0);
    if (index < 0) return undefined;
    const fault = this.faults[index]!;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return fault;
  }

  /** A delay that stop() can cut short, so a slow-answer test leaves no timer behind. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.delays.delete(timer);
        resolve();
      }, ms);
      this.delays.add(timer);
    });
  }
}

function port(server: Server | undefined): number {
  if (!server) throw new Error('simulated PagerDuty: start() it first');
  return (server.address() as AddressInfo).port;
}

/** Stable PagerDuty-style ids, so a test can filter by the id of a name it seeded. */
export function simulatedId(kind: string, name: string): string {
  return `P${createHash('sha1').update(`${kind}:${name}`).digest('hex').slice(0, 6).toUpperCase()}`;
}

function reference(kind: string, name: string): { id: string; type: string; summary: string } {
  return { id: simulatedId(kind, name), type: `${kind}_reference`, summary: name };
}

/** Offset pagination as the REST API does it: `limit` (default 25) from `offset`. */
function page<T>(
  all: T[],
  url: URL,
): { items: T[]; limit: number; offset: number; more: boolean; total: null } {
  const limit = Number(url.searchParams.get('limit') ?? 25) || 25;
  const offset = Number(url.searchParams.get('offset') ?? 0) || 0;
  return {
    items: all.slice(offset, offset + limit),
    limit,
    offset,
    more: offset + limit < all.length,
    total: null,
  };
}

function faultMessage(status: number): string {
  if (status === 429) return 'Requests are arriving too quickly. Please retry later.';
  if (status >= 500) return 'Internal Server Error';
  return 'Simulated failure';
}

function randomHex(): string {
  return randomBytes(16).toString('hex');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function safeRecord(raw: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(raw);
    return isRecord(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/** The id of the simulated on-call's escalation policy (policy.incidents.escalationPolicies takes it). */
export const SANDBOX_ESCALATION_POLICY = simulatedId('escalation_policy', SANDBOX_ESCALATION_POLICY_NAME);
