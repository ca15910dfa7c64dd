import type { PushedAlert } from '../alerts';
import { matchesAll, type Matcher } from './matchers';

/*
 * The page's side of Alertmanager, Prometheus' part: pushing alerts, and asking which
 * silences hold one back (so the page can say so). It works the same against Debian's
 * prometheus-alertmanager and the built-in one.
 */

const TIMEOUT_MS = 5_000;

export interface HoldingSilence {
  id: string;
  endsAt: string;
}

/** POST /api/v2/alerts: a firing alert without endsAt, a resolved one with it. */
export async function pushAlerts(alertmanagerUrl: string, alerts: readonly PushedAlert[]): Promise<void> {
  const res = await fetch(`${alertmanagerUrl}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alerts),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST /api/v2/alerts answered ${res.status}: ${text.trim().slice(0, 200)}`);
}

/**
 * The active silences whose matchers an alert with these labels meets, the one that ends
 * last first: what Alertmanager's pipeline mutes it for.
 */
export async function silencesHolding(
  alertmanagerUrl: string,
  labels: Record<string, string>,
): Promise<HoldingSilence[]> {
  const res = await fetch(`${alertmanagerUrl}/api/v2/silences`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET /api/v2/silences answered ${res.status}: ${text.trim().slice(0, 200)}`);
  const listed: unknown = JSON.parse(text);
  if (!Array.isArray(listed)) throw new Error('GET /api/v2/silences answered something other than a list');
  return listed
    .flatMap((raw: unknown) => {
      const silence = gettableSilence(raw);
      return silence && silence.state === 'active' && holds(silence.matchers, labels) ? [silence] : [];
    })
    .sort((a, b) => Date.parse(b.endsAt) - Date.parse(a.endsAt))
    .map(({ id, endsAt }) => ({ id, endsAt }));
}

/** A Go regex JavaScript cannot read (`(?i)…`) is left out of the answer rather than failing it. */
function holds(matchers: Matcher[], labels: Record<string, string>): boolean {
  try {
    return matchesAll(matchers, labels);
  } catch {
    return false;
  }
}

function gettableSilence(
  raw: unknown,
): { id: string; state: string; endsAt: string; matchers: Matcher[] } | undefined {
  if (!isRecord(raw) || typeof raw.id !== 'string' || typeof raw.endsAt !== 'string') return undefined;
  if (!isRecord(raw.status) || typeof raw.status.state !== 'string' || !Array.isArray(raw.matchers))
    return undefined;
  const matchers = raw.matchers.flatMap((m: unknown): Matcher[] =>
    isRecord(m) && typeof m.name === 'string' && typeof m.value === 'string'
      ? [
          {
            name: m.name,
            value: m.value,
            isRegex: m.isRegex === true,
            // Silences made before Alertmanager 0.22 have no isEqual: they meant equal.
            isEqual: m.isEqual !== false,
          },
        ]
      : [],
  );
  return { id: raw.id, state: raw.status.state, endsAt: raw.endsAt, matchers };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
