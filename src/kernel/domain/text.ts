/**
 * At most `max` UTF-16 units, ending in … when cut. Slack's limits are in characters;
 * UTF-16 units are never fewer, so this is within them. A surrogate pair is never halved.
 */
export function bounded(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - 1));
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut.trimEnd()}…`;
}
