import { randomBytes } from 'node:crypto';

/**
 * Events API events the simulated Slack records when a person acts (reacts, un-reacts,
 * writes a message), for a test or the workspace page to deliver to the bot as Slack
 * would: an `event_callback` POSTed to its request URL (slack-requests.ts builds it, the
 * test kit's `sendEvent` signs and sends it). Recording is not delivering: nothing reaches
 * the bot until someone sends it.
 */

/** The inner event, as Slack puts it under `event`. */
export type SlackEvent = Record<string, unknown> & { type: string; event_ts: string };

export interface ReactionEvent extends SlackEvent {
  type: 'reaction_added' | 'reaction_removed';
  user: string;
  reaction: string;
  item: { type: 'message'; channel: string; ts: string };
  /** The author of the message reacted to. */
  item_user: string;
}

export interface MessageEvent extends SlackEvent {
  type: 'message';
  channel: string;
  channel_type: 'channel' | 'group';
  user: string;
  text: string;
  ts: string;
  thread_ts?: string;
}

/** One recorded event with the envelope fields Slack gives it once: its id and time. */
export interface SimulatedEvent<E extends SlackEvent = SlackEvent> {
  event_id: string;
  /** Seconds since the epoch, when it happened. */
  event_time: number;
  event: E;
}

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Shaped like Slack's: `Ev` then capitals and digits. */
export function newEventId(): string {
  return `Ev${[...randomBytes(10)].map((b) => ALNUM[b % ALNUM.length]).join('')}`;
}

/** An event's `event_ts`: when it happened, in Slack's timestamp form. */
export function eventTs(at = Date.now()): string {
  return (at / 1000).toFixed(6);
}
