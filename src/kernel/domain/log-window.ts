/** How many lines to ask each pod for: a grep needs a wider window to find enough matches. */
export function tailWindow(query: { lines: number; grep?: string }): number {
  return query.grep ? Math.min(Math.max(query.lines * 20, 2_000), 10_000) : query.lines;
}
