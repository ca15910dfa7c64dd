import { z } from 'zod';
import { plainText } from '../kernel/slack/typed-text';
import type { CoreDeps } from '../deps';
import { slackError } from '../kernel/slack/errors';
import { isOpen } from './domain/incident';
import { bounded } from '../kernel/domain/text';
import { ENTRY_TEXT_MAX, type TimelineEntry } from './domain/timeline';
import { eventId, messageTs, PIN_REACTION, type pinEntryJob } from './pin-contract';
import { slackChannel, slackUser } from '../kernel/queue/payloads';

/**
 * :pushpin: on any message in an open incident's channel puts that message in the timeline:
 * the web role's listener turns the reaction_added event into a job (`pinOf`), the job reads
 * the message and appends it (`addPin`).
 */

export type Pin = z.output<typeof pinEntryJob.payload>;

/** The fields of an event_callback a pin needs; anything else about the body is ignored. */
const reactionBody = z.object({
  event_id: eventId,
  event: z.object({
    type: z.literal('reaction_added'),
    user: slackUser,
    reaction: z.string(),
    item: z.object({ type: z.literal('message'), channel: slackChannel, ts: messageTs }),
  }),
});

/**
 * The pin a reaction_added body asks for, or undefined: another emoji, a reaction to a
 * file, or a body with fields missing or of the wrong type (Slack's events are checked only
 * as far as routing goes before they get here).
 */
export function pinOf(body: unknown): Pin | undefined {
  const parsed = reactionBody.safeParse(body);
  if (!parsed.success || parsed.data.event.reaction !== PIN_REACTION) return undefined;
  const { event } = parsed.data;
  return { channel: event.item.channel, ts: event.item.ts, user: event.user, eventId: parsed.data.event_id };
}

/** One entry per pinned message, however many people pin it, however often. */
export const pinKey = (channel: string, ts: string): string => `pin:${channel}:${ts}`;

/** A message ts (`1700000000.123456`) as ms since the epoch. */
export function tsToMs(ts: string): number {
  const [seconds = '0', micros = ''] = ts.split('.');
  return Number(seconds) * 1_000 + Math.floor(Number(micros.padEnd(6, '0')) / 1_000);
}

type PinDeps = Pick<CoreDeps, 'incidents' | 'slack' | 'logger' | 'outbox'>;

/** The Slack error code of a failed Web API call, if it was one. */

export type PinOutcome = { incident: string; key: string } | { ignored: string };

/**
 * Reads the pinned message and appends it to its incident's timeline: at the message's
 * time, by whoever pinned it, its text as written (views escape it where they show it).
 * Nothing when the channel's incident is resolved by now or the message is gone.
 */
export async function addPin(deps: PinDeps, pin: Pin): Promise<PinOutcome> {
  const incident = await deps.incidents.ofChannel(pin.channel);
  if (!incident) return { ignored: 'no incident in this channel' };
  if (!isOpen(incident)) return { ignored: 'the incident is resolved' };
  const message = await readMessage(deps, pin.channel, pin.ts);
  if (!message) return { ignored: 'the message is gone' };
  const link = await permalink(deps, pin.channel, pin.ts);
  const entry: TimelineEntry = {
    at: tsToMs(pin.ts),
    actor: pin.user,
    kind: 'pin',
    // As the channel read it, not its markup, which the timeline would show escaped.
    text: bounded(plainText(messageText(message)), ENTRY_TEXT_MAX),
    ...(link ? { link } : {}),
    key: pinKey(pin.channel, pin.ts),
  };
  await deps.incidents.append(incident.id, entry);
  return { incident: incident.id, key: entry.key! };
}

interface Message {
  ts?: string;
  text?: string;
  files?: Array<{ name?: string; title?: string }>;
}

/** What the entry says: the message's text; for a file posted without a word, its name. */
function messageText(message: Message): string {
  if (message.text?.trim()) return message.text;
  const files = (message.files ?? []).map((f) => f.title ?? f.name).filter((n) => n);
  return files.length > 0 ? `(file: ${files.join(', ')})` : '(a message without text)';
}

/**
 * The message at `ts`: the channel's history holds it when it is a top-level message (or a
 * thread's parent); a reply is only in its thread. Undefined when it is gone (deleted).
 */
async function readMessage(deps: PinDeps, channel: string, ts: string): Promise<Message | undefined> {
  const history = await deps.outbox.paced('conversations.history', undefined, () =>
    deps.slack.conversations.history({ channel, latest: ts, inclusive: true, limit: 1 }),
  );
  const top = history.messages?.[0];
  if (top?.ts === ts) return top;
  try {
    // Slack gives a thread's parent first whatever the window: two find the reply either way.
    const thread = await deps.outbox.paced('conversations.replies', undefined, () =>
      deps.slack.conversations.replies({ channel, ts, oldest: ts, inclusive: true, limit: 2 }),
    );
    return thread.messages?.find((m) => m.ts === ts);
  } catch (err) {
    if (slackError(err) === 'thread_not_found') return undefined;
    throw err;
  }
}

/** A link to the message for the postmortem; the entry goes in without one if Slack will not say. */
async function permalink(deps: PinDeps, channel: string, ts: string): Promise<string | undefined> {
  try {
    const answer = await deps.outbox.paced('chat.getPermalink', undefined, () =>
      deps.slack.chat.getPermalink({ channel, message_ts: ts }),
    );
    return answer.permalink;
  } catch (err) {
    deps.logger.warn({ channel, ts, err: (err as Error).message }, 'no permalink for a pinned message');
    return undefined;
  }
}
