import { createHmac } from 'node:crypto';
import { SIMULATED_BOT_USER } from './slack-api';
import { newEventId, type SimulatedEvent, type SlackEvent } from './slack-events';
import { issueTriggerId } from './slack-triggers';
import { viewState, type SlackView } from './slack-views';

/**
 * What Slack itself sends to the bot: slash commands, button clicks and modal submissions as
 * signed forms, Events API events as signed JSON.
 * The sandbox workspace builds its requests here, so a click in the browser reaches the bot
 * exactly as one from Slack would, signature check included.
 */

export const SANDBOX_TEAM = { id: 'T0AZORA', domain: 'azora' } as const;
export const SANDBOX_APP_ID = 'A0AZORA';
const APP_ID = SANDBOX_APP_ID;
// Slack stopped relying on it, but still sends it; Bolt ignores it.
const VERIFICATION_TOKEN = 'deprecated-verification-token';

/** v0 signature: HMAC-SHA256(secret, "v0:<timestamp>:<body>"), with the headers Bolt checks. */
export function signedHeaders(
  body: string,
  secret: string,
  timestamp = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const signature = createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
  return {
    // Bolt form-decodes only this exact content type; a charset suffix makes it try JSON.
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': `v0=${signature}`,
  };
}

export interface SlashCommandRequest {
  command: string;
  text: string;
  user: string;
  userName: string;
  channel: string;
  channelName: string;
  responseUrl: string;
  /** Slack's trigger id for it; a fresh one the simulated Slack knows, by default. */
  triggerId?: string;
}

export function slashCommandBody(c: SlashCommandRequest): string {
  return new URLSearchParams({
    token: VERIFICATION_TOKEN,
    team_id: SANDBOX_TEAM.id,
    team_domain: SANDBOX_TEAM.domain,
    channel_id: c.channel,
    channel_name: c.channelName,
    user_id: c.user,
    user_name: c.userName,
    command: c.command,
    text: c.text,
    api_app_id: APP_ID,
    is_enterprise_install: 'false',
    response_url: c.responseUrl,
    trigger_id: c.triggerId ?? issueTriggerId(c.user),
  }).toString();
}

/**
 * What Slack sends of a typed slash command whose app asks for escaping (the bot's
 * manifest does): `&`, `<` and `>` as HTML entities, each `@handle` of someone in the
 * workspace as `<@U…|handle>`, and web addresses as `<https://…>`.
 */
export function escapedCommandText(
  typed: string,
  people: ReadonlyArray<{ id: string; handle: string }>,
): string {
  const ids = new Map(people.map((p) => [p.handle.toLowerCase(), p.id]));
  return typed
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/https?:\/\/[^\s]+/g, (url) => `<${url}>`)
    .replace(/(^|\s)@([a-z0-9._-]+)/gi, (whole, space: string, handle: string) => {
      const id = ids.get(handle.toLowerCase());
      return id ? `${space}<@${id}|${handle}>` : whole;
    });
}

/** The clicked element, as it appears in the message's blocks. */
export interface ClickedButton {
  actionId: string;
  blockId: string;
  text: string;
  value?: string;
  url?: string;
  style?: string;
}

export interface BlockActionRequest {
  user: string;
  userName: string;
  channel: string;
  channelName: string;
  message: { ts: string; threadTs?: string; text: string; blocks: unknown[]; ephemeral: boolean };
  button: ClickedButton;
  responseUrl: string;
  /** Slack's trigger id for it (views.open takes it for 3 s); a fresh one the simulated Slack knows, by default. */
  triggerId?: string;
}

let lastActionUs = 0;

/**
 * Slack's action_ts: seconds with microseconds, different for every press, two presses in
 * one millisecond included (the bot tells a redelivery from a second press by it).
 */
function nextActionTs(): string {
  const us = Math.max(Date.now() * 1000, lastActionUs + 1);
  lastActionUs = us;
  return `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}`;
}

/** A block_actions interaction: Slack sends it as one form field, `payload`, holding JSON. */
export function blockActionBody(c: BlockActionRequest): string {
  const payload = {
    type: 'block_actions',
    user: { id: c.user, username: c.userName, name: c.userName, team_id: SANDBOX_TEAM.id },
    api_app_id: APP_ID,
    token: VERIFICATION_TOKEN,
    container: {
      type: 'message',
      message_ts: c.message.ts,
      channel_id: c.channel,
      is_ephemeral: c.message.ephemeral,
      ...(c.message.threadTs ? { thread_ts: c.message.threadTs } : {}),
    },
    trigger_id: c.triggerId ?? issueTriggerId(c.user),
    team: { ...SANDBOX_TEAM },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: c.channel, name: c.channelName },
    // Slack leaves the message out of clicks on ephemeral messages.
    ...(c.message.ephemeral
      ? {}
      : {
          message: {
            type: 'message',
            ts: c.message.ts,
            text: c.message.text,
            blocks: c.message.blocks,
            ...(c.message.threadTs ? { thread_ts: c.message.threadTs } : {}),
          },
        }),
    state: { values: {} },
    response_url: c.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: c.button.actionId,
        block_id: c.button.blockId,
        text: { type: 'plain_text', text: c.button.text, emoji: true },
        ...(c.button.value !== undefined ? { value: c.button.value } : {}),
        ...(c.button.url !== undefined ? { url: c.button.url } : {}),
        ...(c.button.style !== undefined ? { style: c.button.style } : {}),
        action_ts: nextActionTs(),
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface ViewSubmissionRequest {
  user: string;
  userName: string;
  /** The view as the simulated Slack holds it (its current hash included). */
  view: SlackView;
  /** What the person typed, by block_id then action_id; inputs left out are sent empty, as Slack does. */
  values?: Record<string, Record<string, string | null | undefined>>;
  triggerId?: string;
}

/**
 * A view_submission interaction: the whole view, its inputs' state under state.values, and
 * a fresh trigger id (the app may open or push another view with it).
 */
export function viewSubmissionBody(c: ViewSubmissionRequest): string {
  const payload = {
    type: 'view_submission',
    team: { ...SANDBOX_TEAM },
    user: { id: c.user, username: c.userName, name: c.userName, team_id: SANDBOX_TEAM.id },
    api_app_id: APP_ID,
    token: VERIFICATION_TOKEN,
    trigger_id: c.triggerId ?? issueTriggerId(c.user),
    view: { ...c.view, state: viewState(c.view, c.values) },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface ViewClosedRequest {
  user: string;
  userName: string;
  view: SlackView;
  /** Whether the whole stack closed (the view was cleared) rather than this view alone. */
  isCleared?: boolean;
}

/** A view_closed interaction: Slack sends it only for views opened with notify_on_close. */
export function viewClosedBody(c: ViewClosedRequest): string {
  const payload = {
    type: 'view_closed',
    team: { ...SANDBOX_TEAM },
    user: { id: c.user, username: c.userName, name: c.userName, team_id: SANDBOX_TEAM.id },
    api_app_id: APP_ID,
    token: VERIFICATION_TOKEN,
    view: { ...c.view, state: viewState(c.view) },
    is_cleared: c.isCleared ?? false,
    is_enterprise_install: false,
    enterprise: null,
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface EventCallbackRequest {
  /** The event, bare (an `event_id` is made up) or as the simulated Slack recorded it. */
  event: SlackEvent | SimulatedEvent;
  /** Overrides the recorded (or made-up) id, as when Slack sends one event again. */
  eventId?: string;
  /** Seconds since the epoch; now by default, unless the event was recorded. */
  eventTime?: number;
}

/**
 * An `event_callback`, the JSON body Slack POSTs to the app's request URL for every event
 * it subscribed to: the event under `event`, with the team, the app, the event's id and
 * time, and whom the event is for (`authorizations`: the bot, installed in the workspace).
 */
export function eventCallbackBody(c: EventCallbackRequest): string {
  const recorded = 'event_id' in c.event && 'event' in c.event ? (c.event as SimulatedEvent) : undefined;
  const event = recorded?.event ?? (c.event as SlackEvent);
  return JSON.stringify({
    token: VERIFICATION_TOKEN,
    team_id: SANDBOX_TEAM.id,
    context_team_id: SANDBOX_TEAM.id,
    context_enterprise_id: null,
    api_app_id: APP_ID,
    event,
    type: 'event_callback',
    event_id: c.eventId ?? recorded?.event_id ?? newEventId(),
    event_time: c.eventTime ?? recorded?.event_time ?? Math.floor(Date.now() / 1000),
    authorizations: [
      {
        enterprise_id: null,
        team_id: SANDBOX_TEAM.id,
        user_id: SIMULATED_BOT_USER,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
    event_context: `4-${Buffer.from(JSON.stringify({ et: event.type, tid: SANDBOX_TEAM.id, aid: APP_ID })).toString('base64')}`,
  });
}

/** The headers of a signed Events API POST: JSON, and on a redelivery Slack's retry count and reason. */
export function signedEventHeaders(
  body: string,
  secret: string,
  retry?: { num: number; reason: string },
): Record<string, string> {
  return {
    ...signedHeaders(body, secret),
    'content-type': 'application/json',
    ...(retry ? { 'x-slack-retry-num': String(retry.num), 'x-slack-retry-reason': retry.reason } : {}),
  };
}
