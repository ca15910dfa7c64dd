import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyTooLarge, readBody } from '../src/kernel/http/body';
import { waitForRecorded } from './recorded';
import { sendJson } from '../src/kernel/http/json';
import { checkMessage } from './slack-blocks';
import { fail, nowSeconds } from './slack-answers';
import {
  messageWire,
  SimulatedConversations,
  type ChannelSeed,
  type SimulatedChannel,
  type SimulatedMessage,
  type SimulatedPin,
} from './slack-conversations';
import { SimulatedDirectory, type NewUser, type SimulatedUser } from './slack-directory';
import {
  eventTs,
  newEventId,
  type MessageEvent,
  type ReactionEvent,
  type SimulatedEvent,
  type SlackEvent,
} from './slack-events';
import { SimulatedFiles, type FileShareMessage, type SimulatedFile } from './slack-files';
import { RateLimiter, type RateLimitSetting } from './slack-rate-limits';
import { issueTriggerId } from './slack-triggers';
import { SimulatedViews, type SimulatedView, type ViewOutcome } from './slack-views';

export type { ChannelSeed, SimulatedChannel, SimulatedMessage, SimulatedPin } from './slack-conversations';
export type { NewUser, SimulatedUser } from './slack-directory';
export type { SimulatedEvent } from './slack-events';
export type { SimulatedFile } from './slack-files';

/** One Web API call or response_url post, as the simulated Slack received it. */
export interface RecordedCall {
  method: string;
  args: Record<string, unknown>;
  at: number;
  status: number;
}

export interface SimulatedSlackOptions {
  port?: number;
  botToken?: string;
  /** Minimum gap between calls that write to one channel; faster calls get 429 like real Slack. */
  minChannelGapMs?: number;
  retryAfterSeconds?: number;
  userGroups?: Record<string, string[]>;
  /** Channels that exist from the start (the policy's, say); the bot is in them unless `members` says otherwise. */
  channels?: readonly ChannelSeed[];
  /** People besides the sandbox's (sandbox/users.ts), who are always there with the bot. */
  users?: readonly NewUser[];
  /** The workspace does not let the bot create channels: conversations.create answers `restricted_action`. */
  restrictChannelCreation?: boolean;
  /**
   * Per-method limits, by method: 'tier' for its documented tier's (Tier 2: 20 a minute…),
   * or `{ calls, windowMs }` of the test's own. Over the limit, a call gets 429 with Retry-After.
   */
  rateLimits?: Readonly<Record<string, RateLimitSetting>>;
  /** The largest body the upload URL takes (default 64 MiB); more gets 413. */
  maxUploadBytes?: number;
}

interface Fault {
  method: string;
  status: number;
  remaining: number;
  delayMs: number;
  /** Done at once, answered this much later. */
  answerDelayMs?: number;
}

export const SIMULATED_BOT_USER = 'U0AZORABOT';
export const SIMULATED_BOT_ID = 'B0AZORABOT';
const TEAM_ID = 'T0AZORA';
const APP_ID = 'A0AZORA';
const WRITE_METHODS = new Set(['chat.postMessage', 'chat.update', 'chat.postEphemeral', 'chat.delete']);
const API_BODY_LIMIT = 1 << 20;
const UPLOAD_BODY_LIMIT = 64 << 20;

/**
 * A Slack workspace that speaks enough of the Web API for the bot: messages, threads,
 * edits, ephemeral replies, response_url posts and modals (views.open, push, update; see
 * slack-views.ts); channels, their members, topics, history, pins and reactions
 * (slack-conversations.ts); people and their e-mail addresses (slack-directory.ts); file
 * uploads (slack-files.ts); per-method rate limits (slack-rate-limits.ts). Tests assert on
 * what it recorded; the sandbox renders what it holds. What people do here (`react`,
 * `unreact`, `say`) is recorded as Events API events, for a test to deliver to the bot.
 *
 * Events: `call` (every RecordedCall), `message` (a SimulatedMessage posted or edited),
 * `view` (a SimulatedView opened, updated, answered or closed), `channel` (a
 * SimulatedChannel created or changed), `reaction` (a SimulatedMessage whose reactions
 * changed), `event` (a SimulatedEvent recorded), `file` (a SimulatedFile uploaded or shared),
 * `pin` (a channel id and a message ts, pinned or unpinned).
 */
export class SimulatedSlack extends EventEmitter {
  readonly calls: RecordedCall[] = [];
  readonly messages: SimulatedMessage[] = [];
  private readonly modals = new SimulatedViews(
    { teamId: TEAM_ID, appId: APP_ID, botId: SIMULATED_BOT_ID },
    (view) => this.emit('view', view),
  );
  /** Events API events of what people did here, oldest first: delivered by whoever sends them. */
  readonly events: SimulatedEvent[] = [];
  private readonly directory: SimulatedDirectory;
  private readonly conversations: SimulatedConversations;
  private readonly uploads: SimulatedFiles;
  private readonly limiter: RateLimiter;
  private readonly faults: Fault[] = [];
  private readonly lastWrite = new Map<string, number>();
  private server?: Server;
  private clock = 1_700_000_000;
  private seq = 0;
  readonly botToken: string;

  constructor(private readonly options: SimulatedSlackOptions = {}) {
    super();
    this.botToken = options.botToken ?? 'xoxb-sandbox-token';
    this.directory = new SimulatedDirectory(
      TEAM_ID,
      { id: SIMULATED_BOT_USER, name: 'azora' },
      options.users ?? [],
    );
    this.conversations = new SimulatedConversations({
      bot: SIMULATED_BOT_USER,
      teamId: TEAM_ID,
      directory: this.directory,
      messages: this.messages,
      origin: () => this.origin,
      channelChanged: (channel) => this.emit('channel', channel),
      messageChanged: (message) => this.emit('reaction', message),
      pinChanged: (channel, ts) => this.emit('pin', channel, ts),
    });
    this.conversations.creationRestricted = options.restrictChannelCreation ?? false;
    for (const seed of options.channels ?? []) this.conversations.add(seed);
    this.uploads = new SimulatedFiles({
      bot: SIMULATED_BOT_USER,
      teamId: TEAM_ID,
      origin: () => this.origin,
      conversations: this.conversations,
      share: (channel, threadTs, message) => this.shareFiles(channel, threadTs, message),
      changed: (file) => this.emit('file', file),
    });
    this.limiter = new RateLimiter(options.rateLimits);
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

  /**
   * Does the next `times` calls of `method` at once, but answers them `delayMs` later: what
   * they post shows in the workspace while the bot still waits for the answer.
   */
  delayAnswer(method: string, delayMs: number, times = 1): void {
    this.faults.push({ method, status: 200, remaining: times, delayMs: 0, answerDelayMs: delayMs });
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

  /** Every registered channel (created by the bot or seeded), archived ones included. */
  get channels(): readonly SimulatedChannel[] {
    return this.conversations.channels;
  }

  /** A registered channel, by id or by name. */
  channel(idOrName: string): SimulatedChannel | undefined {
    return this.conversations.find(idOrName) ?? this.conversations.byName(idOrName);
  }

  /** A channel that exists already, as the `channels` option seeds them. */
  addChannel(seed: ChannelSeed): SimulatedChannel {
    return this.conversations.add(seed);
  }

  /** Whether the workspace forbids the bot to create channels (`restricted_action`). */
  restrictChannelCreation(restricted = true): void {
    this.conversations.creationRestricted = restricted;
  }

  /** The messages pinned in `channel`, the first pinned first. */
  pins(channel: string): SimulatedPin[] {
    return this.conversations.pinsOf(channel);
  }

  /** Everyone in the workspace: the bot, the sandbox's people, and those tests added. */
  get users(): readonly SimulatedUser[] {
    return this.directory.list;
  }

  user(id: string): SimulatedUser | undefined {
    return this.directory.get(id);
  }

  /** Someone new, with an e-mail address users.lookupByEmail finds (an id is made up unless given). */
  addUser(user: NewUser): SimulatedUser {
    return this.directory.add(user);
  }

  /** Files the bot uploaded, in the order it asked for their upload URLs. */
  get files(): readonly SimulatedFile[] {
    return this.uploads.list;
  }

  file(id: string): SimulatedFile | undefined {
    return this.uploads.find(id);
  }

  /** Resolves with the first file that satisfies `test` (say, `f.state === 'complete'`), waiting if need be. */
  waitForFile(test: (file: SimulatedFile) => boolean, timeoutMs = 10_000): Promise<SimulatedFile> {
    return waitForRecorded(this, 'file', this.uploads.list, test, timeoutMs, 'simulated Slack files');
  }

  /** Resolves with the first recorded event that satisfies `test`, waiting for it if need be. */
  waitForEvent(test: (event: SimulatedEvent) => boolean, timeoutMs = 10_000): Promise<SimulatedEvent> {
    return waitForRecorded(this, 'event', this.events, test, timeoutMs, 'simulated Slack events');
  }

  /** Limits `method` from now on ('tier': its documented tier's limit), or lifts its limit (undefined). */
  limitRate(method: string, setting: RateLimitSetting | undefined): void {
    this.limiter.set(method, setting);
  }

  /**
   * `user` adds the reaction `name` to the message at `channel`/`ts`, as a person does in
   * Slack: the message carries it (reactions.get shows it) and a `reaction_added` event is
   * recorded, for the test to deliver. Throws with Slack's error when Slack would refuse.
   */
  react(user: string, channel: string, ts: string, name: string): SimulatedEvent<ReactionEvent> {
    return this.reaction('reaction_added', user, channel, ts, name);
  }

  /** `user` takes their reaction back: `reaction_removed`. */
  unreact(user: string, channel: string, ts: string, name: string): SimulatedEvent<ReactionEvent> {
    return this.reaction('reaction_removed', user, channel, ts, name);
  }

  /**
   * `user` writes a message in `channel` (in the thread of `threadTs`, if given): it is
   * there for history, pins and reactions, and a `message` event is recorded.
   */
  say(
    user: string,
    channel: string,
    text: string,
    threadTs?: string,
  ): { message: SimulatedMessage; event: SimulatedEvent<MessageEvent> } {
    this.person(user);
    // A person writes only where they are (a registered channel), unlike the bot with chat:write.public.
    const refusal = this.conversations.shareRefusal(channel, user);
    if (refusal) throw new Error(`${user} cannot write in ${channel}: ${refusal}`);
    const message: SimulatedMessage = {
      channel,
      ts: this.nextTs(),
      text,
      blocks: [],
      user,
      ...(threadTs ? { threadTs } : {}),
    };
    this.messages.push(message);
    this.emit('message', message);
    const event = this.recordEvent<MessageEvent>({
      type: 'message',
      channel,
      channel_type: this.conversations.find(channel)?.isPrivate ? 'group' : 'channel',
      user,
      text,
      ts: message.ts,
      team: TEAM_ID,
      ...(threadTs ? { thread_ts: threadTs } : {}),
      event_ts: message.ts,
    });
    return { message, event };
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
    if (url.pathname.startsWith('/upload/v1/')) return this.upload(req, res, url.pathname.slice(11));
    if (url.pathname.startsWith('/files-pri/')) return this.download(req, res, url.pathname);
    const args = parseArgs(
      req.headers['content-type'],
      (await readBody(req, API_BODY_LIMIT)).toString('utf8'),
    );
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
    const retryAfter = this.limiter.take(method);
    if (retryAfter !== undefined) {
      this.record(method, args, 429);
      return sendJson(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(retryAfter) });
    }
    if (WRITE_METHODS.has(method) && this.tooFast(String(args.channel ?? ''))) {
      this.record(method, args, 429);
      const retryAfter = String(this.options.retryAfterSeconds ?? 1);
      return sendJson(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': retryAfter });
    }
    this.record(method, args, 200);
    const answer = this.answer(method, args);
    if (fault?.answerDelayMs) await new Promise((r) => setTimeout(r, fault.answerDelayMs));
    return sendJson(res, 200, answer);
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
        const refusal = this.conversations.postRefusal(String(args.channel ?? ''));
        if (refusal) return fail(refusal);
        const invalid = checkMessage(args);
        if (invalid) return invalid;
        const message = this.post(args, method === 'chat.postEphemeral' ? String(args.user) : undefined);
        return method === 'chat.postMessage'
          ? { ok: true, channel: message.channel, ts: message.ts, message: messageWire(message) }
          : { ok: true, message_ts: message.ts };
      }
      case 'chat.update': {
        const message = this.messages.find((m) => m.channel === args.channel && m.ts === args.ts);
        if (!message) return { ok: false, error: 'message_not_found' };
        const invalid = checkMessage(args);
        if (invalid) return invalid;
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
      case 'chat.getPermalink':
        return this.conversations.permalink(args);
      case 'conversations.create':
        return this.conversations.create(args);
      case 'conversations.info':
        return this.conversations.info(args);
      case 'conversations.archive':
        return this.conversations.archive(args);
      case 'conversations.setTopic':
        return this.conversations.setTopic(args);
      case 'conversations.invite':
        return this.conversations.invite(args);
      case 'conversations.members':
        return this.conversations.members(args);
      case 'conversations.history':
        return this.conversations.history(args);
      case 'conversations.replies':
        return this.conversations.replies(args);
      case 'pins.add':
        return this.conversations.pinsAdd(args);
      case 'pins.list':
        return this.conversations.pinsList(args);
      case 'pins.remove':
        return this.conversations.pinsRemove(args);
      case 'reactions.add':
        return this.conversations.reactionsAdd(args);
      case 'reactions.remove':
        return this.conversations.reactionsRemove(args);
      case 'reactions.get':
        return this.conversations.reactionsGet(args);
      case 'users.info':
        return this.directory.info(args);
      case 'users.lookupByEmail':
        return this.directory.lookupByEmail(args);
      case 'files.getUploadURLExternal':
        return this.uploads.getUploadURL(args);
      case 'files.completeUploadExternal':
        return this.uploads.complete(args);
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

  /** The message files.completeUploadExternal posts in a channel, as the bot: its ts. */
  private shareFiles(channel: string, threadTs: string | undefined, share: FileShareMessage): string {
    const message: SimulatedMessage = {
      channel,
      ts: this.nextTs(),
      text: share.text,
      blocks: share.blocks,
      user: SIMULATED_BOT_USER,
      files: share.files,
      ...(threadTs ? { threadTs } : {}),
    };
    this.messages.push(message);
    this.emit('message', message);
    return message.ts;
  }

  /** The POST of a file's bytes to the upload URL files.getUploadURLExternal gave. */
  private async upload(req: IncomingMessage, res: ServerResponse, ticket: string): Promise<void> {
    const fault = this.takeFault('upload_url');
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    let body: Buffer;
    try {
      body = await readBody(req, this.options.maxUploadBytes ?? UPLOAD_BODY_LIMIT);
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) throw err;
      this.record('upload_url', { ticket }, 413);
      res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end('file too large');
      return;
    }
    if (fault && fault.status !== 200) {
      this.record('upload_url', { ticket }, fault.status);
      res.writeHead(fault.status, { 'content-type': 'text/plain' }).end('upload failed');
      return;
    }
    const answer = await this.uploads.receive(ticket, req.headers['content-type'], body);
    const contentType = req.headers['content-type'] ?? '';
    this.record('upload_url', { ticket, contentType, bytes: body.length }, answer.status);
    res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body);
  }

  /** GET of a file's url_private, with the bot's token, as Slack serves it. */
  private download(req: IncomingMessage, res: ServerResponse, pathname: string): void {
    const file = this.uploads.byPrivatePath(pathname);
    if (req.method !== 'GET' || req.headers.authorization !== `Bearer ${this.botToken}` || !file?.bytes) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.bytes.length });
    res.end(file.bytes);
  }

  private reaction(
    type: ReactionEvent['type'],
    user: string,
    channel: string,
    ts: string,
    name: string,
  ): SimulatedEvent<ReactionEvent> {
    this.person(user);
    const args = { channel, timestamp: ts, name };
    const answer =
      type === 'reaction_added'
        ? this.conversations.reactionsAdd(args, user)
        : this.conversations.reactionsRemove(args, user);
    if (answer.ok !== true)
      throw new Error(`${user} cannot react :${name}: to ${channel}/${ts}: ${answer.error}`);
    const message = this.conversations.message(channel, ts)!;
    return this.recordEvent<ReactionEvent>({
      type,
      user,
      reaction: name,
      item: { type: 'message', channel, ts },
      item_user: message.user,
      event_ts: eventTs(),
    });
  }

  /** A person of the workspace, not the bot: who may react and write through the test methods. */
  private person(user: string): void {
    const known = this.directory.get(user);
    if (!known || known.isBot || known.deleted)
      throw new Error(`${user} is not a person of the simulated Slack`);
  }

  private recordEvent<E extends SlackEvent>(event: E): SimulatedEvent<E> {
    const recorded: SimulatedEvent<E> = { event_id: newEventId(), event_time: nowSeconds(), event };
    this.events.push(recorded);
    this.emit('event', recorded);
    return recorded;
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
