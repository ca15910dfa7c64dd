/**
 * At most `max` UTF-16 units, ending in … when cut. Slack's limits are in characters;
 * UTF-16 units are never fewer, so this is within them. A surrogate pair is never halved.
 */
export function bounded(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, pairSafe(text, Math.max(0, max - 1))).trimEnd()}…`;
}

/** `end`, or one before it when `end` would fall between the two halves of a surrogate pair (an emoji). */
export function pairSafe(text: string, end: number): number {
  const last = text.charCodeAt(end - 1);
  return last >= 0xd800 && last <= 0xdbff ? end - 1 : end;
}
