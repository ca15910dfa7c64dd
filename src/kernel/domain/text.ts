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

/**
 * Terminal escape sequences that programs write for a terminal and that mean nothing in
 * Slack: colours and cursor moves (CSI), window titles and links (OSC), and two-byte escapes.
 */
// eslint-disable-next-line no-control-regex -- matching control bytes is the point
const TERMINAL_SEQUENCE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]/g;
// eslint-disable-next-line no-control-regex -- matching control bytes is the point
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * A line from outside (a pod's log) as a reader can see it: terminal colours dropped, a
 * closing carriage return dropped, and any other control byte shown as its symbol (␀, ␛,
 * ␡; � for the C1 range) instead of reaching Slack, which shows some as nothing and some
 * as boxes. Tabs stay.
 */
export function printable(line: string): string {
  return line
    .replace(TERMINAL_SEQUENCE, '')
    .replace(/\r$/, '')
    .replace(CONTROL, (char) => {
      const code = char.charCodeAt(0);
      return code < 0x20 ? String.fromCharCode(0x2400 + code) : code === 0x7f ? '␡' : '�';
    });
}
