import type { SandboxAlert } from '../alerts';
import type { SimulatedMessage } from '../slack-api';
import type { SimulatedView, ViewOutcome } from '../slack-views';
import type { SandboxUser } from '../users';

/*
 * What the workspace page gets from the server: the contract between workspace.ts and the
 * page's script (public/client.js), which imports these types in its JSDoc, so that tsc
 * checks both sides against the same declarations.
 */

/**
 * A message as the page gets it: what Slack holds (reactions and shared files included),
 * plus when the sandbox first saw it and whether it is pinned in its channel.
 */
export type WireMessage = SimulatedMessage & { postedAt: number; pinned?: boolean };

/**
 * A channel of the simulated Slack: the policy's, and those created since (conversations.create),
 * sent again (`channel` events) when its topic, members or archived state change.
 */
export interface WireChannel {
  id: string;
  name: string;
  topic: string;
  /** Who is in it; a private channel shows only to them. Absent for a channel known from messages alone. */
  members?: string[];
  isPrivate?: boolean;
  archived?: boolean;
}

/** One alert of the Alertmanager menu: where it lands and whether it fires now. */
/**
 * What became of an alert fired or resolved from the menu: taken by the sandbox's
 * Alertmanager, which notifies the bot; held back there by an active silence (the one that
 * ends last); or, with no Alertmanager of the sandbox's own, posted to the bot's webhook.
 */
export type AlertDelivery =
  { via: 'alertmanager' } | { via: 'silenced'; silence: string; until: string } | { via: 'webhook' };

export type AlertState = SandboxAlert & {
  channel: string;
  firing: boolean;
  /** The last firing or resolving from the menu, once there has been one. */
  delivery?: AlertDelivery;
};

/**
 * A modal as the page gets it (`view` events, and the open ones in the snapshot): the page
 * shows the last open one of the person acting, with the app's errors under its inputs.
 */
export type WireView = Omit<SimulatedView, 'submissions'>;

/** The first event of the page's stream (`snapshot`); `message`, `channel`, `view` and `alerts` events follow. */
export interface Snapshot {
  team: { name: string; domain: string };
  users: readonly SandboxUser[];
  bot: { id: string; name: string };
  /** User-group ids the policy names, with the handle the page shows for them. */
  userGroups: Record<string, string>;
  channels: WireChannel[];
  alerts: AlertState[];
  messages: WireMessage[];
  /** The modals open now. */
  views: WireView[];
}

/** What POST /sandbox/api/{command,click,alert,view,react,say} answer; `ok: false` with `error` on failure. */
export interface ApiAnswer {
  ok: boolean;
  status?: number;
  /** The channel a fired alert went to. */
  channel?: string;
  /** What became of a fired or resolved alert. */
  delivery?: AlertDelivery;
  /** What a modal's submission came to, from the bot's answer. */
  outcome?: ViewOutcome;
  error?: string;
}
