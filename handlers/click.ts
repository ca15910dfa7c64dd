import type { RespondFn } from '@slack/bolt';
import type { ActionKind } from '../src/domain/actions';

/** A button press, already acknowledged: what was pressed, on what, by whom. */
export interface Click {
  kind: ActionKind;
  /** A request id or an alert group id, from the button's action_id. */
  subject: string;
  user: string;
  responseUrl: string;
  respond: RespondFn;
}

export type ClickHandler = (click: Click) => Promise<void>;
