const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const HOUR = 3_600_000;

export type StartParse = { ok: true; at: number; consumed: number } | { ok: false; error: string };

const hhmm = (word: string | undefined) => {
  const match = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(word ?? '');
  return match ? { hours: Number(match[1]), minutes: Number(match[2]) } : undefined;
};

/**
 * The start of a maintenance window as people type it, always UTC: ISO 8601 with a Z
 * (`2026-12-06T02:00Z`), a date and a time (`2026-12-06 02:00`), or a weekday and a time
 * (`sun 02:00`, the next such day). Returns how many words it used.
 */
export function parseStart(words: readonly string[], now: number): StartParse {
  const [first = '', second] = words;
  let at: number | undefined;
  let consumed = 1;
  const iso = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d(?::\d\d)?)(?:\.\d+)?Z$/i.exec(first);
  if (iso) {
    at = Date.parse(`${iso[1]}T${iso[2]}Z`);
  } else if (/^\d{4}-\d\d-\d\d$/.test(first) && hhmm(second)) {
    at = Date.parse(`${first}T${second!.padStart(5, '0')}:00Z`);
    consumed = 2;
  } else if (WEEKDAYS.includes(first.slice(0, 3).toLowerCase()) && hhmm(second)) {
    const { hours, minutes } = hhmm(second)!;
    const today = new Date(now);
    const wanted = WEEKDAYS.indexOf(first.slice(0, 3).toLowerCase());
    const base = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate(), hours, minutes);
    let days = (wanted - today.getUTCDay() + 7) % 7;
    if (days === 0 && base <= now) days = 7;
    at = base + days * 24 * HOUR;
    consumed = 2;
  } else if (/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(first)) {
    return {
      ok: false,
      error: `'${first}' has no time zone; write it in UTC with a Z, e.g. 2026-12-06T02:00Z`,
    };
  } else {
    return {
      ok: false,
      error: `cannot read the start '${[first, second].filter(Boolean).join(' ')}'; write 2026-12-06T02:00Z, 2026-12-06 02:00 or sun 02:00 (UTC)`,
    };
  }
  const day = iso?.[1] ?? (/^\d{4}-\d\d-\d\d$/.test(first) ? first : undefined);
  // Date.parse rolls 2026-02-31 over into March; a typo must not become another day.
  if (at === undefined || Number.isNaN(at) || (day && new Date(at).toISOString().slice(0, 10) !== day)) {
    return { ok: false, error: `'${first}' is not a real date` };
  }
  if (at <= now) return { ok: false, error: `${new Date(at).toISOString()} is in the past` };
  if (at > now + 366 * 24 * HOUR) return { ok: false, error: 'the start is more than a year away' };
  return { ok: true, at, consumed };
}

/** The first Sunday of the month of `year`/`month` (0-based) at `hours`:`minutes` UTC. */
export function firstSunday(year: number, month: number, hours: number, minutes: number): number {
  const first = new Date(Date.UTC(year, month, 1));
  const day = (7 - first.getUTCDay()) % 7;
  return Date.UTC(year, month, 1 + day, hours, minutes);
}

/** The recurring window's next starts after `now` (the guide: first Sunday of each month). */
export function nextFirstSundays(now: number, time: string, count: number): number[] {
  const { hours, minutes } = hhmm(time) ?? { hours: 2, minutes: 0 };
  const d = new Date(now);
  const starts: number[] = [];
  for (let offset = 0; starts.length < count && offset < count + 2; offset++) {
    const start = firstSunday(d.getUTCFullYear(), d.getUTCMonth() + offset, hours, minutes);
    if (start > now) starts.push(start);
  }
  return starts;
}
