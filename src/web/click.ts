import type { RespondFn } from '@slack/bolt';
import type { ActionKind } from '../kernel/slack/actions';
import type { SlackMessage } from '../kernel/slack/blocks';

/** A button press: what was pressed, on what, by whom. */
export interface Click {
  kind: ActionKind;
  /** A request id or an alert group id, from the button's action_id. */
  subject: string;
  user: string;
  responseUrl: string;
  /** The channel of the pressed message. */
  channel?: string;
  /** Slack's trigger for opening a modal in answer to this press (valid for 3 s). */
  triggerId?: string;
  respond: RespondFn;
}

/** Answers the presser alone; the thread stays as it is. */
export const tellPresser = (click: Pick<Click, 'respond'>, message: SlackMessage): Promise<unknown> =>
  click.respond({ response_type: 'ephemeral', replace_original: false, ...message });

/** Acts on a press the gate admitted (not a replay, within the presser's limits). */
export type ClickHandler = ((click: Click) => Promise<void>) | ReadAheadClick;

/**
 * A handler whose first reads change nothing: `readAhead` starts them beside the gate's
 * replay check, so both share one round trip to Redis, and returns what acts on them once
 * the gate has admitted the press. A press the gate refuses drops them unread. The type
 * cannot tell a read from a write: `readAhead` must only read, for a replayed press runs it too.
 */
export interface ReadAheadClick {
  readAhead: (click: Click) => () => Promise<void>;
}

/** How long a second press of the same button on the same thing is taken for a double click. */
export const DOUBLE_CLICK_MS = 3_000;

/**
 * Job options that make a second press of this button, by anyone, within DOUBLE_CLICK_MS
 * add nothing: one silence, one runbook request, one switch-back request per press.
 */
export const oncePerPress = ({ kind, subject }: Pick<Click, 'kind' | 'subject'>) => ({
  deduplication: { id: `click-${kind}-${subject}`, ttl: DOUBLE_CLICK_MS },
});
