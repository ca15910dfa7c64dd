/**
 * Text helpers the incident views, topic and postmortem share. Titles, notes and summaries
 * are typed by people (or come from alert annotations): they are made one line and bounded
 * before they go anywhere that has a structure or a limit.
 */

/** One line: line breaks, tabs and other control characters become a space, runs of spaces one. */
export function oneLine(text: string): string {
  return text.replace(/[\s\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ').trim();
}

/** `2026-12-02 14:05`, UTC: incidents are read across time zones, and the postmortem says so once. */
export const utcMinute = (at: number): string => new Date(at).toISOString().slice(0, 16).replace('T', ' ');
