import { context, md, message, note, type SlackMessage } from '../kernel/slack/blocks';

/** The one line a graph that could not be drawn leaves in its thread: `no graph: Prometheus answered 503`. */
export function noGraphLine(reason: string): SlackMessage {
  return message(`no graph: ${reason}`, [context(md`:chart_with_upwards_trend: no graph: ${reason}`)]);
}

/** Told to whoever pressed Graph moments after the last drawing. */
export const redrawTooSoon = (waitMs: number): SlackMessage =>
  note(
    `:hourglass: The graph was drawn moments ago; press Graph again in ${Math.max(1, Math.ceil(waitMs / 1000))} s.`,
  );
