import { randomBytes } from 'node:crypto';

/**
 * Trigger ids, as Slack hands them out: one on every slash command and interaction it sends
 * an app, bound to the person who acted. The app exchanges it (views.open, views.push) for
 * a modal shown to that person, within 3 seconds and once only.
 *
 * The ledger is one per process, like Slack is one for the app: the request builders
 * (slack-requests.ts, used by the workspace page and the test kit) issue ids here, and every
 * SimulatedSlack in the process exchanges them here, so a click sent by a test or the page
 * carries an id the simulated Slack knows.
 */

/** How long an issued trigger id may be exchanged. */
export const TRIGGER_LIFETIME_MS = 3_000;
/** Kept this long so that a late exchange reads `expired_trigger_id`, not `invalid_trigger_id`. */
const KEEP_MS = 60_000;

interface Issued {
  user: string;
  issuedAt: number;
  exchanged: boolean;
}

export type TriggerError = 'invalid_trigger_id' | 'expired_trigger_id' | 'exchanged_trigger_id';
export type TriggerExchange = { ok: true; user: string } | { ok: false; error: TriggerError };

const issued = new Map<string, Issued>();
let seq = 0;

/**
 * A new trigger id for `user`, issued at `issuedAt` (now by default; a test may issue one
 * in the past to see it expire). Shaped like Slack's, `<digits>.<digits>.<hex>`: the first
 * part is the issue time in milliseconds.
 */
export function issueTriggerId(user: string, issuedAt = Date.now()): string {
  prune(Date.now());
  seq += 1;
  const id = `${Math.floor(issuedAt)}.${seq}.${randomBytes(6).toString('hex')}`;
  issued.set(id, { user, issuedAt, exchanged: false });
  return id;
}

/** Spends a trigger id: the person it was issued to, or why it cannot be used. */
export function exchangeTriggerId(id: string, now = Date.now()): TriggerExchange {
  const entry = issued.get(id);
  if (!entry) {
    // Issued here long ago (and forgotten since): expired. Anything else was never issued.
    const stamp = /^(\d{13})\.\d+\.[0-9a-f]+$/.exec(id);
    const old = stamp !== null && now - Number(stamp[1]) > TRIGGER_LIFETIME_MS;
    return { ok: false, error: old ? 'expired_trigger_id' : 'invalid_trigger_id' };
  }
  if (now - entry.issuedAt > TRIGGER_LIFETIME_MS) return { ok: false, error: 'expired_trigger_id' };
  if (entry.exchanged) return { ok: false, error: 'exchanged_trigger_id' };
  entry.exchanged = true;
  return { ok: true, user: entry.user };
}

function prune(now: number): void {
  // Insertion order is issue order, but for ids issued in the past on purpose: stop at the first fresh one.
  for (const [id, entry] of issued) {
    if (now - entry.issuedAt <= KEEP_MS) break;
    issued.delete(id);
  }
}
