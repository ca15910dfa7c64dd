import {
  fail,
  flag,
  lengthOf,
  list,
  missing,
  nowSeconds,
  slackId,
  text,
  TS_PATTERN,
  type Answer,
  type Args,
} from './slack-answers';
import type { SimulatedDirectory } from './slack-directory';

/**
 * Channels as Slack keeps them, and what lives on their messages: conversations.create,
 * info, archive, setTopic, invite, members, history and replies; pins.add, list and remove;
 * reactions.add, remove and get; chat.getPermalink. Each answers as the method reference at
 * docs.slack.dev words it, errors included.
 *
 * A channel is *registered* when it was created (conversations.create) or seeded (the
 * `channels` option, `addChannel`): those have a name, members, a topic, and can be
 * archived. The bot may also post to a channel id the simulated Slack was never told of, as
 * the tests always could; such a channel is known from its messages alone (pins and
 * reactions work there), but has no name for conversations.info. A private channel is
 * invisible to whoever is not in it: `channel_not_found`, as Slack answers.
 */

export interface SimulatedReaction {
  name: string;
  /** Who reacted, in order. */
  users: string[];
  count: number;
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
  /** Emoji reactions, in the order they were first added. */
  reactions?: SimulatedReaction[];
  /** Files shared with the message (files.completeUploadExternal), as Slack's file objects. */
  files?: Record<string, unknown>[];
}

export interface ChannelText {
  value: string;
  creator: string;
  /** Seconds since the epoch; 0 when never set. */
  last_set: number;
}

export interface SimulatedChannel {
  id: string;
  name: string;
  isPrivate: boolean;
  created: number;
  creator: string;
  archived: boolean;
  topic: ChannelText;
  purpose: ChannelText;
  /** Member ids in the order they joined. */
  members: string[];
}

/** A channel that exists before the test: one of the policy's, or one a test needs. */
export interface ChannelSeed {
  /** Made up (C + ten capitals and digits) when not given. */
  id?: string;
  name: string;
  isPrivate?: boolean;
  /** Who is in it; by default the bot alone. Leave the bot out to see `not_in_channel`. */
  members?: readonly string[];
  topic?: string;
  purpose?: string;
  archived?: boolean;
  creator?: string;
}

export interface SimulatedPin {
  channel: string;
  ts: string;
  /** Seconds since the epoch. */
  created: number;
  createdBy: string;
}

export interface ConversationsContext {
  bot: string;
  teamId: string;
  directory: SimulatedDirectory;
  /** The simulated Slack's messages, the very array: read, and changed in place. */
  messages: readonly SimulatedMessage[];
  origin: () => string;
  /** A channel was created, seeded or changed (members, topic, archived). */
  channelChanged: (channel: SimulatedChannel) => void;
  /** A message's reactions changed. */
  messageChanged: (message: SimulatedMessage) => void;
  /** A message was pinned or unpinned. */
  pinChanged?: (channel: string, ts: string) => void;
}

/** Slack's rules: lowercase letters, numbers, hyphens and underscores, at most 80 characters. */
const NAME_MAX = 80;
const NAME_CHARS = /^[\p{Ll}\p{Lo}\p{Nd}_-]+$/u;
const TOPIC_MAX = 250;
const INVITE_MAX = 1000;
const PAGE_DEFAULT = 100;
const PAGE_MAX = 1000;
/** An emoji's name as reactions.add takes it: no colons, a skin tone as a `::skin-tone-N` suffix. */
const EMOJI_NAME = /^[a-z0-9_+'-]+(::skin-tone-[2-6])?$/;

type Resolved =
  | { kind: 'registered'; channel: SimulatedChannel }
  /** Never registered, but the bot posted there. */
  | { kind: 'implicit'; id: string };

export class SimulatedConversations {
  readonly channels: SimulatedChannel[] = [];
  private readonly pinned = new Map<string, SimulatedPin[]>();
  /** A workspace preference: the bot may not create channels (`restricted_action`). */
  creationRestricted = false;

  constructor(private readonly ctx: ConversationsContext) {}

  add(seed: ChannelSeed): SimulatedChannel {
    const id = seed.id ?? slackId('C');
    if (this.find(id)) throw new Error(`the simulated Slack already has a channel ${id}`);
    if (this.byName(seed.name)) throw new Error(`the simulated Slack already has a channel #${seed.name}`);
    const created = nowSeconds();
    const creator = seed.creator ?? this.ctx.bot;
    const channel: SimulatedChannel = {
      id,
      name: seed.name,
      isPrivate: seed.isPrivate ?? false,
      created,
      creator,
      archived: seed.archived ?? false,
      topic: seed.topic ? { value: seed.topic, creator, last_set: created } : unset(),
      purpose: seed.purpose ? { value: seed.purpose, creator, last_set: created } : unset(),
      members: [...new Set(seed.members ?? [this.ctx.bot])],
    };
    this.channels.push(channel);
    this.ctx.channelChanged(channel);
    return channel;
  }

  find(id: string): SimulatedChannel | undefined {
    return this.channels.find((c) => c.id === id);
  }

  /** Names are unique across the workspace, archived channels included. */
  byName(name: string): SimulatedChannel | undefined {
    return this.channels.find((c) => c.name === name);
  }

  pinsOf(channel: string): SimulatedPin[] {
    return [...(this.pinned.get(channel) ?? [])];
  }

  /** A message anyone in the channel sees (not an ephemeral one), top-level or in a thread. */
  message(channel: string, ts: string): SimulatedMessage | undefined {
    return this.ctx.messages.find((m) => m.channel === channel && m.ts === ts && !m.visibleTo);
  }

  /** Why a message may not be posted to `channel` (chat.postMessage, a share), if it may not. */
  postRefusal(channel: string, poster = this.ctx.bot): string | undefined {
    const registered = this.find(channel);
    if (!registered) return undefined;
    if (!this.visible(registered, poster)) return 'channel_not_found';
    if (registered.archived) return 'is_archived';
    return undefined;
  }

  /** Why `poster` may not share a file in (or, a person, write to) `channel`: they must be in a registered one. */
  shareRefusal(channel: string, poster = this.ctx.bot): string | undefined {
    const refusal = this.postRefusal(channel, poster);
    if (refusal) return refusal;
    const registered = this.find(channel);
    if (registered && !registered.members.includes(poster)) return 'not_in_channel';
    return undefined;
  }

  // conversations.*

  create(args: Args): Answer {
    if (this.creationRestricted) return fail('restricted_action');
    const name = text(args, 'name') ?? '';
    if (name === '') return fail('invalid_name_required');
    if (lengthOf(name) > NAME_MAX) return fail('invalid_name_maxlength');
    if (!NAME_CHARS.test(name)) return fail('invalid_name_specials');
    if (/^[-_]+$/.test(name)) return fail('invalid_name_punctuation');
    if (this.byName(name)) return fail('name_taken');
    const channel = this.add({ name, isPrivate: flag(args.is_private) });
    return { ok: true, channel: this.wire(channel) };
  }

  info(args: Args): Answer {
    const channel = this.visibleChannel(args.channel);
    if (!channel) return fail('channel_not_found');
    const wire = this.wire(channel);
    if (flag(args.include_num_members)) wire.num_members = channel.members.length;
    return { ok: true, channel: wire };
  }

  archive(args: Args): Answer {
    const channel = this.visibleChannel(args.channel);
    if (!channel) return fail('channel_not_found');
    if (channel.archived) return fail('already_archived');
    if (!channel.members.includes(this.ctx.bot)) return fail('not_in_channel');
    channel.archived = true;
    this.ctx.channelChanged(channel);
    return { ok: true };
  }

  setTopic(args: Args): Answer {
    const channel = this.visibleChannel(args.channel);
    if (!channel) return fail('channel_not_found');
    const topic = text(args, 'topic');
    if (topic === undefined) return missing('topic');
    if (channel.archived) return fail('is_archived');
    if (!channel.members.includes(this.ctx.bot)) return fail('not_in_channel');
    if (lengthOf(topic) > TOPIC_MAX) return fail('too_long');
    channel.topic = { value: topic, creator: this.ctx.bot, last_set: nowSeconds() };
    this.ctx.channelChanged(channel);
    return { ok: true, channel: this.wire(channel) };
  }

  /**
   * Up to 1000 users. One that cannot be invited (the bot itself, someone unknown, someone
   * already in) fails the call and nobody is invited, with an error per such user under
   * `errors`. With `force`, the others are invited all the same: the answer is then a
   * success carrying those `errors` (the method's output schema lists `errors` next to
   * `channel`), unless nobody could be invited.
   */
  invite(args: Args): Answer {
    const channel = this.visibleChannel(args.channel);
    if (!channel) return fail('channel_not_found');
    if (channel.archived) return fail('is_archived');
    if (!channel.members.includes(this.ctx.bot)) return fail('not_in_channel');
    const ids = [...new Set(list(args.users))];
    if (ids.length === 0) return fail('no_user');
    if (ids.length > INVITE_MAX) return fail('too_many_users');
    const errors: Array<{ user: string; ok: false; error: string }> = [];
    const invited: string[] = [];
    for (const id of ids) {
      const error =
        id === this.ctx.bot
          ? 'cant_invite_self'
          : !this.ctx.directory.invitable(id)
            ? 'user_not_found'
            : channel.members.includes(id)
              ? 'already_in_channel'
              : undefined;
      if (error) errors.push({ user: id, ok: false, error });
      else invited.push(id);
    }
    if (errors.length > 0 && (!flag(args.force) || invited.length === 0)) {
      return { ok: false, error: errors[0]!.error, errors };
    }
    channel.members.push(...invited);
    this.ctx.channelChanged(channel);
    return { ok: true, channel: this.wire(channel), ...(errors.length > 0 ? { errors } : {}) };
  }

  members(args: Args): Answer {
    const channel = this.visibleChannel(args.channel);
    if (!channel) return fail('channel_not_found');
    const limit = pageLimit(args.limit);
    if (limit === undefined) return fail('invalid_limit');
    let start = 0;
    const cursor = text(args, 'cursor');
    if (cursor) {
      const from = decodeCursor(cursor, 'user');
      start = from === undefined ? -1 : channel.members.indexOf(from);
      if (start < 0) return fail('invalid_cursor');
    }
    const page = channel.members.slice(start, start + limit);
    const next = channel.members[start + limit];
    return {
      ok: true,
      members: page,
      response_metadata: { next_cursor: next ? encodeCursor('user', next) : '' },
    };
  }

  /** Top-level messages (and thread parents), newest first. */
  history(args: Args): Answer {
    const resolved = this.resolve(args.channel);
    if (!resolved) return fail('channel_not_found');
    if (resolved.kind === 'registered' && !resolved.channel.members.includes(this.ctx.bot)) {
      return fail('not_in_channel');
    }
    const id = resolved.kind === 'registered' ? resolved.channel.id : resolved.id;
    const window = timeWindow(args);
    if ('error' in window) return fail(window.error);
    const all = this.ctx.messages
      .filter((m) => m.channel === id && !m.visibleTo && (!m.threadTs || m.threadTs === m.ts))
      .filter((m) => window.includes(m.ts))
      .sort((a, b) => compareTs(b.ts, a.ts));
    return this.page(all, args, (m, from) => compareTs(m.ts, from) <= 0);
  }

  /** A thread, its parent first, from the ts of the parent or of any reply. */
  replies(args: Args): Answer {
    const resolved = this.resolve(args.channel);
    if (!resolved) return fail('channel_not_found');
    const id = resolved.kind === 'registered' ? resolved.channel.id : resolved.id;
    const ts = text(args, 'ts');
    if (ts === undefined) return missing('ts');
    const found = this.message(id, ts);
    if (!found) return fail('thread_not_found');
    const root = found.threadTs ?? found.ts;
    const window = timeWindow(args);
    if ('error' in window) return fail(window.error);
    const thread = this.ctx.messages
      .filter((m) => m.channel === id && !m.visibleTo && (m.ts === root || m.threadTs === root))
      .filter((m) => window.includes(m.ts))
      .sort((a, b) => compareTs(a.ts, b.ts));
    return this.page(thread, args, (m, from) => compareTs(m.ts, from) >= 0);
  }

  // chat.getPermalink

  permalink(args: Args): Answer {
    const resolved = this.resolve(args.channel);
    if (!resolved) return fail('channel_not_found');
    const id = resolved.kind === 'registered' ? resolved.channel.id : resolved.id;
    const message = this.message(id, text(args, 'message_ts') ?? '');
    if (!message) return fail('message_not_found');
    return { ok: true, channel: id, permalink: this.permalinkOf(message) };
  }

  // pins.*

  pinsAdd(args: Args, user = this.ctx.bot): Answer {
    const target = this.pinTarget(args);
    if ('answer' in target) return target.answer;
    const pins = this.pinned.get(target.channel) ?? [];
    if (pins.some((p) => p.ts === target.message.ts)) return fail('already_pinned');
    pins.push({ channel: target.channel, ts: target.message.ts, created: nowSeconds(), createdBy: user });
    this.pinned.set(target.channel, pins);
    this.ctx.pinChanged?.(target.channel, target.message.ts);
    return { ok: true };
  }

  /** The channel's pinned messages, the last pinned first. */
  pinsList(args: Args): Answer {
    const resolved = this.resolve(args.channel);
    if (!resolved) return fail('channel_not_found');
    const id = resolved.kind === 'registered' ? resolved.channel.id : resolved.id;
    const items = [...(this.pinned.get(id) ?? [])].reverse().flatMap((pin) => {
      const message = this.message(pin.channel, pin.ts);
      if (!message) return [];
      return [
        {
          type: 'message',
          channel: pin.channel,
          created: pin.created,
          created_by: pin.createdBy,
          message: this.messageWire(message),
        },
      ];
    });
    return { ok: true, items };
  }

  pinsRemove(args: Args): Answer {
    const target = this.pinTarget(args);
    if ('answer' in target) return target.answer;
    const pins = this.pinned.get(target.channel) ?? [];
    const index = pins.findIndex((p) => p.ts === target.message.ts);
    if (index < 0) return fail('not_pinned');
    pins.splice(index, 1);
    this.ctx.pinChanged?.(target.channel, target.message.ts);
    return { ok: true };
  }

  // reactions.*

  reactionsAdd(args: Args, user = this.ctx.bot): Answer {
    const target = this.reactionTarget(args);
    if ('answer' in target) return target.answer;
    const { message, name } = target;
    const reactions = (message.reactions ??= []);
    let reaction = reactions.find((r) => r.name === name);
    if (reaction?.users.includes(user)) return fail('already_reacted');
    if (!reaction) {
      reaction = { name, users: [], count: 0 };
      reactions.push(reaction);
    }
    reaction.users.push(user);
    reaction.count = reaction.users.length;
    this.ctx.messageChanged(message);
    return { ok: true };
  }

  reactionsRemove(args: Args, user = this.ctx.bot): Answer {
    const target = this.reactionTarget(args);
    if ('answer' in target) return target.answer;
    const { message, name } = target;
    const reaction = message.reactions?.find((r) => r.name === name);
    if (!reaction?.users.includes(user)) return fail('no_reaction');
    reaction.users = reaction.users.filter((u) => u !== user);
    reaction.count = reaction.users.length;
    if (reaction.count === 0) message.reactions = message.reactions!.filter((r) => r !== reaction);
    if (message.reactions!.length === 0) delete message.reactions;
    this.ctx.messageChanged(message);
    return { ok: true };
  }

  reactionsGet(args: Args): Answer {
    if (text(args, 'channel') === undefined || text(args, 'timestamp') === undefined) {
      return fail('no_item_specified');
    }
    const found = this.messageAt(args);
    if ('answer' in found) return found.answer;
    return { ok: true, type: 'message', channel: found.channel, message: this.messageWire(found.message) };
  }

  /** A message as the Web API returns it (history, replies, pins, reactions). */
  messageWire(m: SimulatedMessage): Answer {
    const pinnedTo = this.pinned.get(m.channel)?.some((p) => p.ts === m.ts) ? [m.channel] : undefined;
    return {
      ...messageWire(m),
      permalink: this.permalinkOf(m),
      ...(pinnedTo ? { pinned_to: pinnedTo } : {}),
    };
  }

  /** Slack's conversation object, as the bot sees it. */
  wire(channel: SimulatedChannel): Answer {
    return {
      id: channel.id,
      name: channel.name,
      is_channel: true,
      is_group: false,
      is_im: false,
      is_mpim: false,
      is_private: channel.isPrivate,
      created: channel.created,
      is_archived: channel.archived,
      is_general: false,
      unlinked: 0,
      name_normalized: channel.name,
      is_shared: false,
      is_org_shared: false,
      is_ext_shared: false,
      is_pending_ext_shared: false,
      pending_shared: [],
      context_team_id: this.ctx.teamId,
      shared_team_ids: [this.ctx.teamId],
      creator: channel.creator,
      is_member: channel.members.includes(this.ctx.bot),
      topic: { ...channel.topic },
      purpose: { ...channel.purpose },
      previous_names: [],
    };
  }

  private permalinkOf(m: SimulatedMessage): string {
    const base = `${this.ctx.origin()}/archives/${m.channel}/p${m.ts.replace('.', '')}`;
    return m.threadTs && m.threadTs !== m.ts ? `${base}?thread_ts=${m.threadTs}&cid=${m.channel}` : base;
  }

  private visible(channel: SimulatedChannel, viewer = this.ctx.bot): boolean {
    return !channel.isPrivate || channel.members.includes(viewer);
  }

  private visibleChannel(id: unknown): SimulatedChannel | undefined {
    const channel = typeof id === 'string' ? this.find(id) : undefined;
    return channel && this.visible(channel) ? channel : undefined;
  }

  /** A channel the bot can read: registered and visible, or one it posted to unregistered. */
  private resolve(id: unknown): Resolved | undefined {
    if (typeof id !== 'string' || id === '') return undefined;
    const channel = this.find(id);
    if (channel) return this.visible(channel) ? { kind: 'registered', channel } : undefined;
    return this.ctx.messages.some((m) => m.channel === id) ? { kind: 'implicit', id } : undefined;
  }

  private messageAt(
    args: Args,
  ): { channel: string; message: SimulatedMessage; registered?: SimulatedChannel } | { answer: Answer } {
    const resolved = this.resolve(args.channel);
    if (!resolved) return { answer: fail('channel_not_found') };
    const channel = resolved.kind === 'registered' ? resolved.channel.id : resolved.id;
    const ts = text(args, 'timestamp') ?? '';
    if (!TS_PATTERN.test(ts)) return { answer: fail('bad_timestamp') };
    const message = this.message(channel, ts);
    if (!message) return { answer: fail('message_not_found') };
    return {
      channel,
      message,
      ...(resolved.kind === 'registered' ? { registered: resolved.channel } : {}),
    };
  }

  private pinTarget(args: Args): { channel: string; message: SimulatedMessage } | { answer: Answer } {
    if (!text(args, 'channel')) return { answer: fail('channel_not_found') };
    if (!text(args, 'timestamp')) return { answer: fail('no_item_specified') };
    return this.messageAt(args);
  }

  private reactionTarget(args: Args): { message: SimulatedMessage; name: string } | { answer: Answer } {
    if (!text(args, 'channel') || !text(args, 'timestamp')) return { answer: fail('no_item_specified') };
    const name = text(args, 'name') ?? '';
    if (!EMOJI_NAME.test(name)) return { answer: fail('invalid_name') };
    const found = this.messageAt(args);
    if ('answer' in found) return found;
    if (found.registered?.archived) return { answer: fail('is_archived') };
    return { message: found.message, name };
  }

  /** A page of `items` from the request's cursor; `from` says whether an item is at or past it. */
  private page(
    items: SimulatedMessage[],
    args: Args,
    from: (m: SimulatedMessage, ts: string) => boolean,
  ): Answer {
    const limit = pageLimit(args.limit) ?? PAGE_DEFAULT;
    let start = 0;
    const cursor = text(args, 'cursor');
    if (cursor) {
      const ts = decodeCursor(cursor, 'next_ts');
      start = ts === undefined ? -1 : items.findIndex((m) => from(m, ts));
      if (start < 0) return fail('invalid_cursor');
    }
    const page = items.slice(start, start + limit);
    const next = items[start + limit];
    return {
      ok: true,
      messages: page.map((m) => this.messageWire(m)),
      has_more: next !== undefined,
      response_metadata: { next_cursor: next ? encodeCursor('next_ts', next.ts) : '' },
    };
  }
}

/** A message as Slack writes one: what chat.postMessage answers, with reactions and files when it has them. */
export function messageWire(m: SimulatedMessage): Answer {
  return {
    type: 'message',
    ts: m.ts,
    text: m.text,
    blocks: m.blocks,
    user: m.user,
    thread_ts: m.threadTs,
    ...(m.edited ? { edited: { user: m.user, ts: (m.edited / 1000).toFixed(6) } } : {}),
    ...(m.files ? { files: m.files, upload: true } : {}),
    ...(m.reactions ? { reactions: m.reactions.map((r) => ({ ...r, users: [...r.users] })) } : {}),
  };
}

/** Orders Slack timestamps exactly (as numbers they lose the last digits). */
export function compareTs(a: string, b: string): number {
  const [ai = '0', af = ''] = a.split('.');
  const [bi = '0', bf = ''] = b.split('.');
  const whole = BigInt(ai) - BigInt(bi);
  if (whole !== 0n) return whole < 0n ? -1 : 1;
  const fa = af.padEnd(6, '0');
  const fb = bf.padEnd(6, '0');
  return fa === fb ? 0 : fa < fb ? -1 : 1;
}

function unset(): ChannelText {
  return { value: '', creator: '', last_set: 0 };
}

/** `limit`: absent means the default; anything but a whole number from 1 to 1000 is invalid. */
function pageLimit(value: unknown): number | undefined {
  if (value === undefined || value === '') return PAGE_DEFAULT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) return undefined;
  return Math.min(n, PAGE_MAX);
}

/** Slack's cursors are base64 of `<kind>:<position>`, e.g. `user:U061F7AUR`. */
function encodeCursor(kind: string, position: string): string {
  return Buffer.from(`${kind}:${position}`).toString('base64');
}

function decodeCursor(cursor: string, kind: string): string | undefined {
  const decoded = Buffer.from(cursor, 'base64').toString('utf8');
  return decoded.startsWith(`${kind}:`) ? decoded.slice(kind.length + 1) : undefined;
}

type TimeWindow = { includes: (ts: string) => boolean } | { error: string };

/** `oldest`, `latest` and `inclusive`, as history and replies read them. */
function timeWindow(args: Args): TimeWindow {
  const oldest = text(args, 'oldest');
  const latest = text(args, 'latest');
  const ok = (ts: string | undefined) => ts === undefined || ts === '' || /^\d+(\.\d+)?$/.test(ts);
  if (!ok(oldest)) return { error: 'invalid_ts_oldest' };
  if (!ok(latest)) return { error: 'invalid_ts_latest' };
  const inclusive = flag(args.inclusive);
  return {
    includes: (ts) => {
      if (oldest) {
        const c = compareTs(ts, oldest);
        if (c < 0 || (c === 0 && !inclusive)) return false;
      }
      if (latest) {
        const c = compareTs(ts, latest);
        if (c > 0 || (c === 0 && !inclusive)) return false;
      }
      return true;
    },
  };
}
