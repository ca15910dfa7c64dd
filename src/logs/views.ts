import { bounded, printable } from '../kernel/domain/text';
import { formatDuration } from '../kernel/domain/duration';
import { tailWindow } from '../kernel/domain/log-window';
import { bold, md, note, render, section, type SlackMessage } from '../kernel/slack/blocks';

/** One line of a pod's log, as shown (the cluster port's LogLine carries it). */
export interface PodLogLine {
  pod: string;
  /** RFC 3339 time stamp the kubelet put in front of the line. */
  time: string;
  text: string;
}

/** Slack cuts a message's text near 40k characters and a section near 3k; stay well below. */
const CHUNK_CHARS = 2_800;

const shortPod = (pod: string) => pod.split('-').slice(-2).join('-');

export function formatLogLine(line: PodLogLine): string {
  return `${line.time.slice(11, 23)} ${shortPod(line.pod)} | ${printable(line.text)}`;
}

/**
 * How many characters of `line` fit in `room` once escaped (`&` takes five, `<` and `>`
 * four): a long line keeps as much as a section shows, not a fifth of it.
 */
function fitting(line: string, room: number): number {
  let used = 1; // bounded's ellipsis
  let count = 0;
  for (const char of line) {
    used += char === '&' ? 5 : char === '<' || char === '>' ? 4 : char.length;
    if (used > room) break;
    count += char.length;
  }
  return count;
}

/** Log lines as code blocks, split so that no message is too long for Slack; each says how many lines it holds. */
export function logChunks(lines: PodLogLine[]): Array<SlackMessage & { lines: number }> {
  const chunks: string[][] = [[]];
  let size = 0;
  for (const text of lines.map(formatLogLine)) {
    // Sizes count as Slack will: after escaping (`&` is five characters then, `<` four).
    const line = text.replace(/```/g, "'''");
    const escaped = render(line).length;
    const clipped = escaped > CHUNK_CHARS ? bounded(line, fitting(line, CHUNK_CHARS)) : line;
    const length = render(clipped).length;
    if (size + length > CHUNK_CHARS && chunks[chunks.length - 1]!.length > 0) {
      chunks.push([]);
      size = 0;
    }
    chunks[chunks.length - 1]!.push(clipped);
    size += length + 1;
  }
  // Log lines come from the pods: escaped like any outside text, inside a code block.
  return chunks
    .filter((c) => c.length > 0)
    .map((c) => ({ body: c.join('\n'), lines: c.length }))
    .map(({ body, lines: count }) => ({
      text: render(body),
      blocks: [section(md`\`\`\`${body}\`\`\``)],
      lines: count,
    }));
}

export function logsHeader(
  service: string,
  environment: string,
  pods: string[],
  query: { lines: number; sinceMs?: number; grep?: string; followMs?: number },
  found: number,
  read: { capped?: boolean; skipped?: number; unreadable?: readonly string[] } = {},
): SlackMessage {
  const filters = [
    query.followMs ? `following for ${formatDuration(query.followMs)}` : `last ${query.lines} lines`,
    query.sinceMs ? `since ${formatDuration(query.sinceMs)} ago` : '',
    // A grep looks at a window of each pod's log, not all of it: "0 lines" must not read as "never".
    query.grep
      ? `matching “${query.grep}”${query.followMs ? '' : ` in the last ${tailWindow(query)} lines of each pod`}`
      : '',
    read.capped ? `stopped at ${found} lines (the cap)` : '',
    read.skipped ? `${read.skipped} skipped to keep Slack's pace` : '',
  ].filter(Boolean);
  const unreadable = read.unreadable ?? [];
  const left = unreadable.length
    ? md`\n:warning: ${unreadable.length} of ${pods.length} pods could not be read: ${unreadable
        .slice(0, 5)
        .map((why) => bounded(why, 200))
        .join('; ')}`
    : '';
  return note(
    md`:scroll: Logs of ${bold(service)} in ${environment}: ${filters.join(', ')} across ${pods.length} pods (${found} lines)${left}`,
  );
}
