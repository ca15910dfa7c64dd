import { parse as parseForm, type ParsedUrlQuery } from 'node:querystring';

/**
 * Which signed bodies Bolt and the bot's listeners can route. Bolt itself dereferences
 * fields of a body without looking (`body.ssl_check` of `payload=null`, `body.user.id`,
 * `[payload] = body.actions`, `'channel' in event`…): a body it cannot take hangs the request
 * or answers 500, which Slack retries. So every signed body is checked here first, with the
 * fields Bolt's routing touches and the ones the listeners rely on, and what fails is refused
 * with 400 at once. Only types: a field's content (an unknown command, a response_url that is
 * no URL) is for the listeners to judge and answer.
 */

export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

/** What a body is, as far as routing goes; `ack` means nothing routes it and Slack only needs a 200. */
export type SlackBodyKind = 'ssl-check' | 'command' | 'interaction' | 'url-verification' | 'event' | 'ack';

export type SlackBodyCheck =
  | {
      ok: true;
      kind: SlackBodyKind;
      /** For log lines: the command, payload type or event type (`/azora`, `block_actions`, `message`). */
      type: string;
    }
  | { ok: false; reason: string };

/**
 * Interaction payloads this app can be sent, with the class Bolt files each under.
 * Legacy attachments and dialogs (interactive_message, dialog_*) are not among them:
 * the bot posts neither, so Slack has no reason to send their payloads.
 */
const INTERACTIONS = {
  block_actions: 'action',
  block_suggestion: 'options',
  view_submission: 'view',
  view_closed: 'view',
  shortcut: 'shortcut',
  message_action: 'shortcut',
} as const;
type InteractionType = keyof typeof INTERACTIONS;

/** The slash command fields the bot's command listener reads (Slack always sends them, `text` maybe empty). */
const COMMAND_FIELDS = ['command', 'text', 'user_id', 'channel_id', 'response_url', 'trigger_id'] as const;

type Json = Record<string, unknown>;

class Malformed extends Error {}

const isRecord = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A field name as it may appear in a log line: short, whatever the sender made of it. */
const named = (key: string): string => JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);

function need(condition: boolean, reason: string): asserts condition {
  if (!condition) throw new Malformed(reason);
}

function string(body: Json, key: string, where: string): string {
  const value = body[key];
  need(typeof value === 'string', `${where}${key} must be a string`);
  return value;
}

function optionalString(body: Json, key: string, where: string): void {
  need(body[key] === undefined || typeof body[key] === 'string', `${where}${key} must be a string`);
}

function record(body: Json, key: string, where: string): Json {
  const value = body[key];
  need(isRecord(value), `${where}${key} must be an object`);
  return value;
}

function optionalRecord(body: Json, key: string, where: string, nullable = false): void {
  const value = body[key];
  need(
    value === undefined || isRecord(value) || (nullable && value === null),
    `${where}${key} must be an object${nullable ? ' or null' : ''}`,
  );
}

/**
 * Checks a signed body (its signature already verified) for a shape that can be routed.
 * `contentType` decides the parse as in Bolt: only the exact form type is read as a form.
 */
export function checkSlackBody(rawBody: string, contentType: string | undefined): SlackBodyCheck {
  try {
    return contentType === FORM_CONTENT_TYPE ? checkForm(parseForm(rawBody)) : checkJson(rawBody);
  } catch (err) {
    if (err instanceof Malformed) return { ok: false, reason: err.message };
    throw err;
  }
}

function checkForm(fields: ParsedUrlQuery): SlackBodyCheck {
  // Bolt answers these itself, before any routing (and strips everything else from them).
  if (fields.ssl_check === '1') return { ok: true, kind: 'ssl-check', type: 'ssl_check' };
  if (fields.payload !== undefined) {
    need(typeof fields.payload === 'string', 'payload is given more than once');
    let payload: unknown;
    try {
      payload = JSON.parse(fields.payload);
    } catch {
      throw new Malformed('payload is not JSON');
    }
    return checkInteraction(payload);
  }
  if (fields.command === undefined) throw new Malformed('neither a slash command nor a payload');
  // Slack never repeats a form field; a repeated one parses to an array that no listener expects.
  for (const [key, value] of Object.entries(fields)) {
    need(typeof value === 'string', `field ${named(key)} is given more than once`);
  }
  return checkCommand(fields);
}

/** A slash command's fields, from a form or a Socket Mode payload. */
function checkCommand(fields: Json): SlackBodyCheck {
  // Bolt files any body with an `event` as an Events API event, before it looks for `command`.
  need(fields.event === undefined, 'a slash command carries no event field');
  for (const key of COMMAND_FIELDS) {
    need(fields[key] !== undefined, `${key} is missing`);
    need(typeof fields[key] === 'string', `${key} must be a string`);
  }
  const command = fields.command as string;
  need(command.startsWith('/'), 'command must start with /');
  return { ok: true, kind: 'command', type: command.slice(0, 40) };
}

function checkInteraction(payload: unknown): SlackBodyCheck {
  need(isRecord(payload), 'payload is not a JSON object');
  const type = payload.type;
  need(typeof type === 'string', 'payload.type must be a string');
  need(Object.hasOwn(INTERACTIONS, type), `payload type ${named(type)} is not one this app takes`);
  const kind = INTERACTIONS[type as InteractionType];
  // Bolt picks the class from these fields before it looks at `type`: none may point elsewhere.
  need(payload.event === undefined, 'payload.event is not expected');
  need(payload.command === undefined, 'payload.command is not expected');
  need(payload.name === undefined, 'payload.name is not expected');
  need(
    (payload.actions !== undefined) === (kind === 'action'),
    `payload.actions is ${kind === 'action' ? 'missing' : 'not expected'}`,
  );

  const user = record(payload, 'user', 'payload.');
  string(user, 'id', 'payload.user.');
  optionalRecord(payload, 'team', 'payload.', true);
  optionalRecord(payload, 'enterprise', 'payload.', true);
  if (payload.channel !== undefined) string(record(payload, 'channel', 'payload.'), 'id', 'payload.channel.');
  optionalString(payload, 'response_url', 'payload.');
  if (payload.response_urls !== undefined) {
    const urls = payload.response_urls;
    need(Array.isArray(urls), 'payload.response_urls must be an array');
    for (const url of urls) {
      need(isRecord(url), 'payload.response_urls[] must be objects');
      string(url, 'response_url', 'payload.response_urls[].');
    }
  }

  switch (kind) {
    case 'action': {
      // Bolt gives listeners a `respond` only for a non-empty response_url, and the click
      // listener answers through it: without one it fails after the ack.
      need(string(payload, 'response_url', 'payload.') !== '', 'payload.response_url is empty');
      const actions = payload.actions;
      need(Array.isArray(actions) && actions.length > 0, 'payload.actions must be a non-empty array');
      for (const action of actions) {
        need(isRecord(action), 'payload.actions[] must be objects');
        string(action, 'action_id', 'payload.actions[].');
        string(action, 'type', 'payload.actions[].');
        // The click listener tells a replayed click from a new one by it.
        string(action, 'action_ts', 'payload.actions[].');
        optionalString(action, 'block_id', 'payload.actions[].');
      }
      break;
    }
    case 'options':
      string(payload, 'action_id', 'payload.');
      string(payload, 'block_id', 'payload.');
      string(payload, 'value', 'payload.');
      break;
    case 'view': {
      const view = record(payload, 'view', 'payload.');
      string(view, 'id', 'payload.view.');
      string(view, 'callback_id', 'payload.view.');
      optionalRecord(view, 'state', 'payload.view.');
      break;
    }
    case 'shortcut':
      string(payload, 'callback_id', 'payload.');
      string(payload, 'trigger_id', 'payload.');
      break;
  }
  return { ok: true, kind: 'interaction', type };
}

function checkJson(rawBody: string): SlackBodyCheck {
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    throw new Malformed('the body is neither a form nor JSON');
  }
  return checkEventsBody(body);
}

/** An Events API body: over HTTP the whole request, in Socket Mode an events_api envelope's payload. */
function checkEventsBody(body: unknown): SlackBodyCheck {
  need(isRecord(body), 'the body is not a JSON object');
  const type = body.type;
  need(typeof type === 'string', 'type must be a string');
  switch (type) {
    case 'url_verification':
      string(body, 'challenge', '');
      return { ok: true, kind: 'url-verification', type };
    case 'event_callback':
      checkEvent(body);
      return { ok: true, kind: 'event', type: (body.event as Json).type as string };
    case 'app_rate_limited':
      // Slack telling the app it dropped events; nothing to route, and Bolt cannot classify it.
      return { ok: true, kind: 'ack', type };
    default:
      throw new Malformed(`type ${named(type)} is not an Events API body`);
  }
}

/** The fields of an event_callback that Bolt's routing reads without checking their type. */
function checkEvent(body: Json): void {
  const event = record(body, 'event', '');
  const type = string(event, 'type', 'event.');
  // Bolt builds complete()/fail() for these, and throws without the execution id.
  if (type === 'function_executed') string(event, 'function_execution_id', 'event.');
  const stringOrRecord = (key: string) =>
    need(
      event[key] === undefined || typeof event[key] === 'string' || isRecord(event[key]),
      `event.${key} must be a string or an object`,
    );
  stringOrRecord('channel');
  stringOrRecord('user');
  optionalString(event, 'text', 'event.');
  optionalRecord(event, 'item', 'event.');
  optionalRecord(event, 'subteam', 'event.');
  if (body.authorizations !== undefined) {
    const authorizations = body.authorizations;
    need(Array.isArray(authorizations), 'authorizations must be an array');
    need(authorizations.every(isRecord), 'authorizations[] must be objects');
  }
}

/**
 * A Socket Mode frame, as Slack sends it on the app's WebSocket: a control message
 * (`hello`, `disconnect`), or an envelope `{envelope_id, type, payload, accepts_response_payload}`
 * whose payload is what Slack would have POSTed over HTTP (a slash command's fields, an
 * interaction payload, an event_callback). The socket client dereferences these without
 * looking (`payload.event.type`: a TypeError nobody observes), and emits any `type` as an
 * event on itself, where its own events live (`ws_message` feeds it its parsed frame back,
 * and fails the same way; `connected`, `disconnected` and `error` are its lifecycle), so
 * only the types below go on.
 */
export type SocketFrameCheck =
  | { ok: true; kind: 'control'; type: 'hello' | 'disconnect' }
  | {
      ok: true;
      /** `ack`: nothing routes it; Slack only needs the envelope acknowledged. */
      kind: RoutedKind;
      type: string;
      envelopeId: string;
    }
  /** `envelopeId` when the frame has one: acknowledging it keeps Slack from sending it again. */
  | { ok: false; reason: string; envelopeId?: string };

type RoutedKind = 'command' | 'interaction' | 'event' | 'ack';

const ENVELOPES = {
  slash_commands: (payload: unknown) => {
    need(isRecord(payload), 'payload is not a JSON object');
    return checkCommand(payload);
  },
  interactive: checkInteraction,
  events_api: (payload: unknown) => {
    const check = checkEventsBody(payload);
    need(check.ok && (check.kind === 'event' || check.kind === 'ack'), 'payload is not an event_callback');
    return check;
  },
} as const;

export function checkSocketFrame(text: string): SocketFrameCheck {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'the frame is not JSON' };
  }
  if (!isRecord(frame)) return { ok: false, reason: 'the frame is not a JSON object' };
  const { type, envelope_id: id } = frame;
  if (type === 'hello' || type === 'disconnect') return { ok: true, kind: 'control', type };
  const envelopeId = typeof id === 'string' && id !== '' && id.length <= 200 ? id : undefined;
  try {
    need(typeof type === 'string', 'type must be a string');
    need(Object.hasOwn(ENVELOPES, type), `envelope type ${named(type)} is not one this app takes`);
    need(envelopeId !== undefined, 'envelope_id must be a non-empty string');
    const check = ENVELOPES[type as keyof typeof ENVELOPES](frame.payload);
    // The checks throw Malformed rather than answer ok: false, and give only these kinds.
    if (!check.ok) return { ...check, envelopeId };
    return { ok: true, kind: check.kind as RoutedKind, type: check.type, envelopeId };
  } catch (err) {
    if (err instanceof Malformed)
      return { ok: false, reason: err.message, ...(envelopeId ? { envelopeId } : {}) };
    throw err;
  }
}
