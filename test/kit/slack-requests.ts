import type { SimulatedSlack } from '../../sandbox/slack-api';
import type { SimulatedEvent, SlackEvent } from '../../sandbox/slack-events';
import {
  blockActionBody,
  eventCallbackBody,
  signedEventHeaders,
  signedHeaders,
  slashCommandBody as sandboxSlashCommandBody,
  viewClosedBody,
  viewSubmissionBody,
} from '../../sandbox/slack-requests';
import type { SimulatedView, SlackView, ViewOutcome } from '../../sandbox/slack-views';

// The sandbox builds exactly what Slack sends; tests use the same builders with terse defaults.
export { signedHeaders };

export interface SlashCommand {
  text: string;
  user: string;
  channel?: string;
  responseUrl?: string;
}

export function slashCommandBody(command: SlashCommand): string {
  return sandboxSlashCommandBody({
    command: '/azora',
    text: command.text,
    user: command.user,
    userName: command.user.toLowerCase(),
    channel: command.channel ?? 'C0AZORAOPS',
    channelName: 'ops',
    responseUrl: command.responseUrl ?? 'http://127.0.0.1:9/unused',
  });
}

export interface SlackPost {
  status: number;
  text: string;
  json(): unknown;
}

/** POSTs a body to the bot's Slack endpoint, signed with `secret` (or with headers the test forged). */
export async function postToSlackEndpoint(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<SlackPost> {
  const res = await fetch(`${url}/slack/events`, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as unknown };
}

export function sendSlashCommand(url: string, secret: string, command: SlashCommand): Promise<SlackPost> {
  const body = slashCommandBody(command);
  return postToSlackEndpoint(url, body, signedHeaders(body, secret));
}

export interface ButtonClick {
  user: string;
  actionId: string;
  value?: string;
  channel?: string;
  messageTs?: string;
  responseUrl?: string;
  /**
   * The click's trigger id. By default a fresh one the simulated Slack knows (views.open
   * takes it within 3 s, once); give `slack.issueTriggerId(user, Date.now() - 5_000)` for
   * one already expired.
   */
  triggerId?: string;
}

export function buttonClickBody(click: ButtonClick): string {
  return blockActionBody({
    user: click.user,
    userName: click.user.toLowerCase(),
    channel: click.channel ?? 'C0AZORAOPS',
    channelName: 'ops',
    message: { ts: click.messageTs ?? '1.000001', text: '', blocks: [], ephemeral: false },
    button: {
      actionId: click.actionId,
      blockId: 'b',
      text: 'button',
      ...(click.value !== undefined ? { value: click.value } : {}),
    },
    responseUrl: click.responseUrl ?? 'http://127.0.0.1:9/unused',
    ...(click.triggerId !== undefined ? { triggerId: click.triggerId } : {}),
  });
}

export function sendButtonClick(url: string, secret: string, click: ButtonClick): Promise<SlackPost> {
  const body = buttonClickBody(click);
  return postToSlackEndpoint(url, body, signedHeaders(body, secret));
}

export interface EventDelivery {
  /** Overrides the event's id: a redelivery carries the id of the first delivery. */
  eventId?: string;
  eventTime?: number;
  /** A redelivery, as Slack marks one: `x-slack-retry-num` and `x-slack-retry-reason` (e.g. http_timeout). */
  retry?: { num: number; reason: string };
}

/**
 * Delivers an Events API event as Slack does: a signed `event_callback` (event_id,
 * event_time, team_id, api_app_id, authorizations) POSTed as JSON to the bot's Slack
 * endpoint. `event` is bare (`{ type: 'reaction_added', user, reaction, item, item_user,
 * event_ts }`) or one the simulated Slack recorded (`slack.react(...)`, `slack.events[i]`),
 * which keeps its id and time.
 */
export function sendEvent(
  url: string,
  secret: string,
  event: SlackEvent | SimulatedEvent,
  delivery: EventDelivery = {},
): Promise<SlackPost> {
  const body = eventCallbackBody({
    event,
    ...(delivery.eventId !== undefined ? { eventId: delivery.eventId } : {}),
    ...(delivery.eventTime !== undefined ? { eventTime: delivery.eventTime } : {}),
  });
  return postToSlackEndpoint(url, body, signedEventHeaders(body, secret, delivery.retry));
}

export interface ViewSubmission {
  /** Who submits; by default the person the view was opened for, when `view` is a SimulatedView. */
  user?: string;
  /** The view as the simulated Slack holds it (`slack.views[i]`), or as views.open answered it. */
  view: SimulatedView | SlackView;
  /** What the person typed, by block_id then action_id: `{ confirm: { typed: 'production' } }`. */
  values?: Record<string, Record<string, string>>;
  /**
   * The simulated Slack the view lives in: given, the submission goes with the view's current
   * hash and the bot's answer is applied there (an empty 200 closes the view, errors are
   * kept on it), as Slack would; the answer's `outcome` says what it did.
   */
  slack?: SimulatedSlack;
}

export interface ViewSubmissionAnswer extends SlackPost {
  /** The bot's acknowledgement: undefined when empty (the modal closes), else its JSON (`response_action`…). */
  body: Record<string, unknown> | undefined;
  /** With `slack`: what the simulated Slack did with the answer. */
  outcome?: ViewOutcome;
}

/** A view_submission as Slack sends it over Socket Mode (an `interactive` envelope's payload): the form's `payload`, parsed. */
export function viewSubmissionPayload(submission: ViewSubmission): Record<string, unknown> {
  const { view, user } = resolveView(submission.view, submission.user, submission.slack);
  const form = viewSubmissionBody({
    user,
    userName: user.toLowerCase(),
    view,
    ...(submission.values ? { values: submission.values } : {}),
  });
  return JSON.parse(new URLSearchParams(form).get('payload')!) as Record<string, unknown>;
}

/**
 * Submits a modal as Slack does: a signed view_submission with the view, its inputs' state
 * and a fresh trigger id, POSTed to the bot's Slack endpoint. Resolves with the HTTP status
 * and the parsed acknowledgement.
 */
export async function sendViewSubmission(
  url: string,
  secret: string,
  submission: ViewSubmission,
): Promise<ViewSubmissionAnswer> {
  const { view, user } = resolveView(submission.view, submission.user, submission.slack);
  const form = viewSubmissionBody({
    user,
    userName: user.toLowerCase(),
    view,
    ...(submission.values ? { values: submission.values } : {}),
  });
  const post = await postToSlackEndpoint(url, form, signedHeaders(form, secret));
  const body = post.text.trim() ? (JSON.parse(post.text) as Record<string, unknown>) : undefined;
  const outcome = submission.slack?.settleViewSubmission(view.id, post);
  return { ...post, body, ...(outcome ? { outcome } : {}) };
}

/**
 * Closes a modal as its person would (Close, ×): with `slack`, the view closes there; the
 * bot gets a signed view_closed only if the view asked for it (notify_on_close), as from
 * Slack. Resolves with the bot's answer, or undefined when nothing was sent.
 */
export async function sendViewClosed(
  url: string,
  secret: string,
  closing: Omit<ViewSubmission, 'values'>,
): Promise<SlackPost | undefined> {
  const { view, user } = resolveView(closing.view, closing.user, closing.slack);
  closing.slack?.closeView(view.id);
  if (!view.notify_on_close) return undefined;
  const form = viewClosedBody({ user, userName: user.toLowerCase(), view });
  return postToSlackEndpoint(url, form, signedHeaders(form, secret));
}

function resolveView(
  given: SimulatedView | SlackView,
  user: string | undefined,
  slack: SimulatedSlack | undefined,
): { view: SlackView; user: string } {
  const held = slack?.view(given.id) ?? ('user' in given ? given : undefined);
  const view = held?.view ?? ('view' in given ? given.view : (given as SlackView));
  const who = user ?? held?.user;
  if (!who) throw new Error(`who submits view ${view.id}? Give a user, or the SimulatedView`);
  return { view, user: who };
}
