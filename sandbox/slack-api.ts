import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from '../src/kernel/http/body';
import { waitForRecorded } from './recorded';
import { sendJson } from '../src/kernel/http/json';
import { issueTriggerId } from './slack-triggers';
import { SimulatedViews, type SimulatedView, type ViewOutcome } from './slack-views';

/** One Web API call or response_url post, as the simulated Slack received it. */
export interface RecordedCall {
  method: string;
  args: Record<string, unknown>;
  at: number;
  status: number;
}

export interface SimulatedMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  text: string;
  blocks: unknown[];
  user: string;
  /** Set for ephemeral messages: only this user sees them. */
  visibleTo?: string;
  edited?: number;
}

export interface SimulatedSlackOptions {
  port?: number;
  botToken?: string;
  /** Minimum gap between calls that write to one channel; faster calls get 429 like real Slack. */
  minChannelGapMs?: number;
  retryAfterSeconds?: number;
  userGroups?: Record<string, string[]>;
}

interface Fault {
  method: string;
  status: number;
  remaining: number;
  delayMs: number;
}

export const SIMULATED_BOT_USER = 'U0AZORABOT';
export const SIMULATED_BOT_ID = 'B0AZORABOT';
const TEAM_ID = 'T0AZORA';
const APP_ID = 'A0AZORA';
const WRITE_METHODS = new Set(['chat.postMessage', 'chat.update', 'chat.postEphemeral', 'chat.delete']);

/**
 * A Slack workspace that speaks enough of the Web API for the bot: messages, threads,
 * edits, ephemeral replies, response_url posts and modals (views.open, push, update; see
 * slack-views.ts). Tests assert on what it recorded; the sandbox renders what it holds.
 *
 * Events: `call` (every RecordedCall), `message` (a SimulatedMessage posted or edited),
 * `view` (a SimulatedView opened, updated, answered or closed).
 */
export class SimulatedSlack extends EventEmitter {
  readonly calls: RecordedCall[] = [];
  readonly messages: SimulatedMessage[] = [];
  private readonly modals = new SimulatedViews(
    { teamId: TEAM_ID, appId: APP_ID, botId: SIMULATED_BOT_ID },
    (view) => this.emit('view', view),
  );
  private readonly faults: Fault[] = [];
  private readonly lastWrite = new Map<string, number>();
  private server?: Server;
  private clock = 1_700_000_000;
  private seq = 0;
  readonly botToken: string;

  constructor(private readonly options: SimulatedSlackOptions = {}) {
    super();
    this.botToken = options.botToken ?? 'xoxb-sandbox-token';
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(this.options.port ?? 0, '127.0.0.1', resolve));
    return this;
  }

  get origin(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** The SLACK_API_URL to give the bot. */
  get apiUrl(): string {
    return `${this.origin}/api/`;
  }

  /** A response_url for a simulated slash command or click in `channel`, seen by `user`. */
  responseUrl(channel: string, user: string, threadTs?: string): string {
    const query = new URLSearchParams({ channel, user, ...(threadTs ? { thread_ts: threadTs } : {}) });
    return `${this.origin}/respond?${query}`;
  }

  /** Makes the next `times` calls of `method` answer `status` (after `delayMs`), as a failing Slack would. */
  failNext(method: string, status: number, times = 1, delayMs = 0): void {
    this.faults.push({ method, status, remaining: times, delayMs });
  }

  /** Slows every call of `method` down, to hold a job in flight. */
  delay(method: string, delayMs: number, times = Number.POSITIVE_INFINITY): void {
    this.faults.push({ method, status: 200, remaining: times, delayMs });
  }

  /** Every modal the bot opened or pushed, oldest first, closed ones included. */
  get views(): readonly SimulatedView[] {
    return this.modals.list;
  }

  /** The modals open for `user`: the root first, the one they see last. */
  openViews(user: string): SimulatedView[] {
    return this.modals.stackOf(user);
  }

  view(id: string): SimulatedView | undefined {
    return this.modals.find(id);
  }

  /** Resolves with the first view (in any state) that satisfies `test`, waiting for a change if need be. */
  waitForView(test: (view: SimulatedView) => boolean, timeoutMs = 10_000): Promise<SimulatedView> {
    return waitForRecorded(this, 'view', this.modals.list, test, timeoutMs, 'simulated Slack views');
  }

  /**
   * A trigger id for `user`, as Slack puts in a command or interaction it sends: views.open
   * takes it within 3 s of `issuedAt`, once. The request builders issue their own; this is
   * for a test that builds a payload itself, or wants one already expired.
   */
  issueTriggerId(user: string, issuedAt = Date.now()): string {
    return issueTriggerId(user, issuedAt);
  }

  /**
   * Applies the app's answer to a view_submission of `viewId` (its HTTP status and body):
   * an empty 200 closes the view, `response_action` errors, update, push or clear do what
   * Slack does. Whoever sent the submission (the workspace page, a test) reports it here.
   */
  settleViewSubmission(viewId: string, answer: { status: number; text: string }): ViewOutcome {
    return this.modals.settleSubmission(viewId, answer);
  }

  /** The person closed the view (Close, ×, Escape); undefined if it was not open. */
  closeView(viewId: string): SimulatedView | undefined {
    return this.modals.closeByUser(viewId);
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method && c.status === 200);
  }

  thread(channel: string, ts: string): SimulatedMessage[] {
    return this.messages.filter((m) => m.channel === channel && (m.ts === ts || m.threadTs === ts));
  }

  /** Resolves with the first recorded call that satisfies `test`, waiting for it if need be. */
  waitForCall(test: (call: RecordedCall) => boolean, timeoutMs = 10_000): Promise<RecordedCall> {
    return waitForRecorded(this, 'call', this.calls, test, timeoutMs, 'simulated Slack');
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const args = parseArgs(req.headers['content-type'], (await readBody(req, 1 << 20)).toString('utf8'));
    if (url.pathname === '/respond') {
      const call = this.record('response_url', { ...Object.fromEntries(url.searchParams), ...args }, 200);
      this.respond(call.args);
      return sendJson(res, 200, { ok: true });
    }
    const method = url.pathname.replace(/^\/api\//, '');
    const fault = this.takeFault(method);
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault && fault.status !== 200) {
      this.record(method, args, fault.status);
      const headers: Record<string, string> =
        fault.status === 429 ? { 'retry-after': String(this.options.retryAfterSeconds ?? 1) } : {};
      return sendJson(
        res,
        fault.status,
        { ok: false, error: fault.status === 429 ? 'ratelimited' : 'fatal_error' },
        headers,
      );
    }
    if (req.headers.authorization !== `Bearer ${this.botToken}` && typeof args.token !== 'string') {
      this.record(method, args, 200);
      return sendJson(res, 200, { ok: false, error: 'not_authed' });
    }
    if (WRITE_METHODS.has(method) && this.tooFast(String(args.channel ?? ''))) {
      this.record(method, args, 429);
      const retryAfter = String(this.options.retryAfterSeconds ?? 1);
      return sendJson(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': retryAfter });
    }
    this.record(method, args, 200);
    return sendJson(res, 200, this.answer(method, args));
  }

  private answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: this.origin,
          team: 'Azora',
          team_id: TEAM_ID,
          user_id: SIMULATED_BOT_USER,
          bot_id: SIMULATED_BOT_ID,
        };
      case 'chat.postMessage':
      case 'chat.postEphemeral': {
        const message = this.post(args, method === 'chat.postEphemeral' ? String(args.user) : undefined);
        return method === 'chat.postMessage'
          ? { ok: true, channel: message.channel, ts: message.ts, message: toWire(message) }
          : { ok: true, message_ts: message.ts };
      }
      case 'chat.update': {
        const message = this.messages.find((m) => m.channel === args.channel && m.ts === args.ts);
        if (!message) return { ok: false, error: 'message_not_found' };
        message.text = String(args.text ?? message.text);
        if (args.blocks !== undefined) message.blocks = asArray(args.blocks);
        message.edited = Date.now();
        this.emit('message', message);
        return { ok: true, channel: message.channel, ts: message.ts, text: message.text };
      }
      case 'views.open':
        return this.modals.open(args);
      case 'views.push':
        return this.modals.push(args);
      case 'views.update':
        return this.modals.update(args);
      case 'usergroups.users.list':
        return { ok: true, users: this.options.userGroups?.[String(args.usergroup)] ?? [] };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  private post(args: Record<string, unknown>, visibleTo?: string): SimulatedMessage {
    const message: SimulatedMessage = {
      channel: String(args.channel),
      ts: this.nextTs(),
      text: String(args.text ?? ''),
      blocks: asArray(args.blocks),
      user: SIMULATED_BOT_USER,
      ...(typeof args.thread_ts === 'string' && args.thread_ts ? { threadTs: args.thread_ts } : {}),
      ...(visibleTo ? { visibleTo } : {}),
    };
    this.messages.push(message);
    this.emit('message', message);
    return message;
  }

  /** response_url semantics: replace the original, or post ephemerally / in channel. */
  private respond(args: Record<string, unknown>): void {
    const channel = String(args.channel ?? '');
    const original = typeof args.message_ts === 'string' ? args.message_ts : undefined;
    if (args.replace_original === true && original) {
      this.answer('chat.update', { ...args, channel, ts: original });
      return;
    }
    const inChannel = args.response_type === 'in_channel';
    this.post({ ...args, channel }, inChannel ? undefined : String(args.user ?? ''));
  }

  private record(method: string, args: Record<string, unknown>, status: number): RecordedCall {
    const call = { method, args, at: Date.now(), status };
    this.calls.push(call);
    this.emit('call', call);
    return call;
  }

  private takeFault(method: string): Fault | undefined {
    const index = this.faults.findIndex((f) => f.method === method && f.remaining > 0);
    if (index < 0) return undefined;
    const fault = this.faults[index]!;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return fault;
  }

  private tooFast(channel: string): boolean {
    const gap = this.options.minChannelGapMs;
    if (!gap || !channel) return false;
    const now = Date.now();
    const last = this.lastWrite.get(channel);
    if (last !== undefined && now - last < gap) return true;
    this.lastWrite.set(channel, now);
    return false;
  }

  private nextTs(): string {
    this.seq += 1;
    return `${this.clock + this.seq}.${String(this.seq).padStart(6, '0')}`;
  }
}

function toWire(m: SimulatedMessage): Record<string, unknown> {
  return { type: 'message', ts: m.ts, text: m.text, blocks: m.blocks, user: m.user, thread_ts: m.threadTs };
}

function asArray(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string' && value.startsWith('[')) return JSON.parse(value) as unknown[];
  return [];
}

/** The Web API client sends forms with JSON-encoded fields; response_url posts are JSON. */
function parseArgs(contentType: string | undefined, body: string): Record<string, unknown> {
  if (!body) return {};
  if (contentType?.startsWith('application/json')) return JSON.parse(body) as Record<string, unknown>;
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    args[key] = value.startsWith('[') || value.startsWith('{') ? safeJson(value) : value;
  }
  return args;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
