import { fillChannelPattern, SLACK_CHANNEL_NAME } from '../../config/policy';
import { Refusal } from '../../kernel/domain/refusal';

const MAX_NAME = 80;
/** Past this many collisions something else is wrong (a loop, a flood of declarations). */
const MAX_SUFFIX = 99;
/** The slug of a title with no letter or digit Slack takes (emoji, CJK, punctuation only). */
const FALLBACK_SLUG = 'incident';

/** Latin letters NFKD does not take apart into a base letter and marks. */
const LETTERS: Record<string, string> = {
  ß: 'ss',
  æ: 'ae',
  ø: 'o',
  œ: 'oe',
  đ: 'd',
  ð: 'd',
  ł: 'l',
  þ: 'th',
  ı: 'i',
};

/**
 * A title as a channel name's words: lower-case ASCII letters and digits joined by single
 * hyphens, accents dropped (`Zahlungsfehler in Köln` → `zahlungsfehler-in-koln`), at most
 * `max` long. Cut at a word boundary when one is in the second half, so that the name
 * reads as words, not as a word cut in two. Empty when nothing in the title is usable.
 */
export function slugOf(title: string, max: number): string {
  const ascii = title
    .toLowerCase()
    .replace(/[ßæøœđðłþı]/g, (c) => LETTERS[c] ?? c)
    .normalize('NFKD')
    .replace(/\p{M}/gu, '');
  const words = ascii.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  if (words.length <= max) return words;
  const cut = words.slice(0, max);
  const boundary = words[max] === '-' ? max : cut.lastIndexOf('-');
  return (boundary >= max / 2 ? cut.slice(0, boundary) : cut).replace(/-+$/, '');
}

/** `20261202`: the UTC day, as channel names sort. */
const utcDay = (at: number): string => new Date(at).toISOString().slice(0, 10).replace(/-/g, '');

/**
 * The incident channel's name: the policy's pattern with the UTC day and the title's slug,
 * at most 80 characters. A name `taken` (an existing or archived channel: Slack refuses
 * both) gets `-2`, `-3`…, the slug shortened to keep the suffix within the limit.
 */
export function channelName(
  pattern: string,
  at: number,
  title: string,
  taken: (name: string) => boolean = () => false,
  /** A suffix no other declaration has (the incident's id): the name that cannot be taken. */
  unique?: string,
): string {
  const date = utcDay(at);
  const room = MAX_NAME - fillChannelPattern(pattern, date, '').length;
  if (unique !== undefined) {
    const suffix = `-${unique}`;
    return fillChannelPattern(
      pattern,
      date,
      `${slugOf(title, room - suffix.length) || FALLBACK_SLUG}${suffix}`,
    );
  }
  let first = '';
  for (let n = 1; n <= MAX_SUFFIX; n++) {
    const suffix = n === 1 ? '' : `-${n}`;
    const slug = slugOf(title, room - suffix.length) || FALLBACK_SLUG;
    const name = fillChannelPattern(pattern, date, `${slug}${suffix}`);
    // The policy refuses a pattern that could give anything else; reaching this is a bug.
    if (!SLACK_CHANNEL_NAME.test(name)) throw new Error(`channel pattern '${pattern}' gives '${name}'`);
    if (!taken(name)) return name;
    first ||= name;
  }
  throw new Refusal(
    'plan',
    `${first} and its numbered variants up to -${MAX_SUFFIX} are all taken (archived channels keep their names): choose another title`,
  );
}
