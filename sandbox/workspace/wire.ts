import type { SandboxAlert } from '../alerts';
import type { SimulatedMessage } from '../slack-api';
import type { SandboxUser } from '../users';

/*
 * What the workspace page gets from the server: the contract between workspace.ts and the
 * page's script (public/client.js), which imports these types in its JSDoc, so that tsc
 * checks both sides against the same declarations.
 */

/** A message as the page gets it: what Slack holds, plus when the sandbox first saw it. */
export type WireMessage = SimulatedMessage & { postedAt: number };

export interface WireChannel {
  id: string;
  name: string;
  topic: string;
}

/** One alert of the Alertmanager menu: where it lands and whether it fires now. */
export type AlertState = SandboxAlert & { channel: string; firing: boolean };

/** The first event of the page's stream (`snapshot`); `message` and `alerts` events follow. */
export interface Snapshot {
  team: { name: string; domain: string };
  users: readonly SandboxUser[];
  bot: { id: string; name: string };
  /** User-group ids the policy names, with the handle the page shows for them. */
  userGroups: Record<string, string>;
  channels: WireChannel[];
  alerts: AlertState[];
  messages: WireMessage[];
}

/** What POST /sandbox/api/{command,click,alert} answer; `ok: false` with `error` on failure. */
export interface ApiAnswer {
  ok: boolean;
  status?: number;
  /** The channel a fired alert went to. */
  channel?: string;
  error?: string;
}
