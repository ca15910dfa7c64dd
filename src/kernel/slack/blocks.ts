import type { KnownBlock } from '@slack/types';
import { pairSafe } from '../domain/text';

/** A message as the bot sends it: `text` is the notification and screen-reader fallback. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/**
 * Slack mrkdwn the bot wrote itself. Everything else that goes into a message (alert
 * labels, log lines, reasons, echoed commands, PagerDuty names, error texts) is a plain
 * string, and the builders below escape plain strings: `<!channel>` or `<https://x|Approve>`
 * from outside shows literally, and a new view cannot forget to escape.
 */
export class Mrkdwn {
  private constructor(readonly markup: string) {}

  /** Only for markup the bot composes from values it checked (ids, its own URLs). */
  static trusted(markup: string): Mrkdwn {
    return new Mrkdwn(markup);
  }

  toString(): string {
    return this.markup;
  }
}

/** What a message may be built from: markup the bot made, or text that gets escaped. */
export type Text = string | number | Mrkdwn;

/** Slack escapes only these three in mrkdwn; `<` and `>` are what links and mentions need. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export const render = (text: Text): string =>
  text instanceof Mrkdwn ? text.markup : escapeText(String(text));

/** A template whose literal parts are markup and whose values are escaped unless they are Mrkdwn. */
export function md(strings: TemplateStringsArray, ...values: Text[]): Mrkdwn {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return Mrkdwn.trusted(out);
}

/** Mentions as escaping leaves them: people and user groups, or people alone. */
const PEOPLE_AND_GROUPS = /&lt;(@[UW][A-Z0-9]{2,}|!subteam\^S[A-Z0-9]{2,})&gt;/g;
const PEOPLE = /&lt;(@[UW][A-Z0-9]{2,})&gt;/g;
const mentionsRestored = (text: string, escaped: RegExp): Mrkdwn =>
  Mrkdwn.trusted(escapeText(text).replace(escaped, '<$1>'));

/**
 * Text the bot composed from outside parts that names people as `<@U…>` or
 * `<!subteam^S…>` (refusal reasons, errors): escaped, then only those mentions restored.
 * `<!channel>`, `<!here>` and links stay literal.
 */
export const withMentions = (text: string): Mrkdwn => mentionsRestored(text, PEOPLE_AND_GROUPS);

/** Kept text that names people as `<@U…>` (a timeline entry): escaped, then only people's mentions restored. */
export const withUserMentions = (text: string): Mrkdwn => mentionsRestored(text, PEOPLE);

export const joinText = (parts: readonly Text[], separator: string): Mrkdwn =>
  Mrkdwn.trusted(parts.map(render).join(separator));

const USER_ID = /^[UW][A-Z0-9]{2,}$/;
const GROUP_ID = /^S[A-Z0-9]{2,}$/;
const CHANNEL_ID = /^[CG][A-Z0-9]{2,}$/;

/** A mention of a user (`<@U…>`) or user group (`<!subteam^S…>`); anything else is shown as text. */
export function mention(id: string): Mrkdwn {
  if (USER_ID.test(id)) return Mrkdwn.trusted(`<@${id}>`);
  if (GROUP_ID.test(id)) return Mrkdwn.trusted(`<!subteam^${id}>`);
  return md`${id}`;
}

export function channelRef(id: string): Mrkdwn {
  return CHANNEL_ID.test(id) ? Mrkdwn.trusted(`<#${id}>`) : md`${id}`;
}

/** Slack shows dates in each reader's own time zone; the fallback is UTC. */
export function slackDate(ms: number, format = '{date_short_pretty} {time}'): Mrkdwn {
  const iso = new Date(ms).toISOString().replace('.000Z', 'Z');
  return Mrkdwn.trusted(`<!date^${Math.floor(ms / 1000)}^${format}|${iso}>`);
}

/** `code`: the text escaped, backticks (which would end it) replaced. */
export const code = (text: Text): Mrkdwn => Mrkdwn.trusted(`\`${render(text).replace(/`/g, "'") || ' '}\``);

export const bold = (text: Text): Mrkdwn => Mrkdwn.trusted(`*${render(text)}*`);

/** A link only for an http(s) URL without the characters that end Slack's link syntax; else the text. */
export function link(url: string, label: Text): Mrkdwn {
  if (!/^https?:\/\/[^\s<>|]+$/.test(url)) return md`${label}`;
  return Mrkdwn.trusted(`<${url.replace(/&/g, '&amp;')}|${render(label)}>`);
}

/** Slack refuses a section whose text is over 3,000 characters, a context element over 2,000. */
export const SECTION_LIMIT = 3_000;
export const CONTEXT_LIMIT = 2_000;

/**
 * Markup cut to `max` characters, never inside a link, mention or entity (which Slack
 * would refuse or show broken), with an ellipsis: an alert's 10,000-character annotation
 * still gets its thread.
 */
export function clip(markup: string, max: number): string {
  if (markup.length <= max) return markup;
  let cut = max - 1;
  const open = markup.lastIndexOf('<', cut - 1);
  if (open > markup.lastIndexOf('>', cut - 1)) cut = open;
  const amp = markup.lastIndexOf('&', cut - 1);
  if (amp > markup.lastIndexOf(';', cut - 1)) cut = amp;
  return `${markup.slice(0, pairSafe(markup, cut))}…`;
}

export const section = (text: Text): KnownBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: clip(render(text), SECTION_LIMIT) },
});

/**
 * Lines as few sections as hold them, each within Slack's limit, so a long list (a plan
 * of many steps an approver must see whole) is split between lines rather than cut.
 */
export function sections(lines: readonly Text[]): KnownBlock[] {
  const packed: string[] = [];
  for (const line of lines.map(render)) {
    const last = packed.length - 1;
    if (last >= 0 && packed[last]!.length + 1 + line.length <= SECTION_LIMIT) packed[last] += `\n${line}`;
    else packed.push(line);
  }
  return packed.map((markup) => section(Mrkdwn.trusted(markup)));
}

export const context = (...texts: Text[]): KnownBlock => ({
  type: 'context',
  elements: texts.map((text) => ({ type: 'mrkdwn', text: clip(render(text), CONTEXT_LIMIT) })),
});

export const divider = (): KnownBlock => ({ type: 'divider' });

/** A message of one section; its notification text is the same words. */
export const note = (text: Text): SlackMessage => ({ text: render(text), blocks: [section(text)] });

/** A message whose fallback text is built like its blocks. */
export const message = (text: Text, blocks: KnownBlock[]): SlackMessage => ({ text: render(text), blocks });

/** Slack refuses a message of more than 50 blocks (`invalid_blocks`) or 40,000 characters of text (`msg_too_long`). */
export const MAX_BLOCKS = 50;
export const TEXT_LIMIT = 40_000;
/**
 * And one whose blocks hold more text than about 12,000 characters in all
 * (`msg_blocks_too_long`, undocumented; reported from about 12,000 to 13,300), however
 * small each block is: kept under, with room for the closing block.
 */
export const BLOCKS_TEXT_LIMIT = 11_500;

/** Every `text` string inside `value` (blocks, elements, buttons, fields), counted as the limit counts them. */
function textIn(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + textIn(v), 0);
  if (typeof value !== 'object' || value === null) return 0;
  return Object.entries(value).reduce(
    (n: number, [key, v]) => n + (key === 'text' && typeof v === 'string' ? v.length : textIn(v)),
    0,
  );
}

/** The closing block's own text, kept room for. */
const CLOSING_ROOM = 100;

/**
 * A message as Slack takes it, whatever went into it (a storm's digest of long
 * summaries, an account with a hundred escalation policies): its text clipped, and past
 * the block limit its last block saying how many were left out. Applied where messages
 * leave for Slack, so no view can forget it.
 */
export function fitForSlack<M extends SlackMessage>(msg: M): M {
  const text = clip(msg.text, TEXT_LIMIT);
  if (msg.blocks.length <= MAX_BLOCKS && textIn(msg.blocks) <= BLOCKS_TEXT_LIMIT)
    return text === msg.text ? msg : { ...msg, text };
  // Buttons stay whatever else goes: a request without its Approve and Deny could only expire.
  const buttons = msg.blocks.filter((b) => b.type === 'actions');
  let budget = BLOCKS_TEXT_LIMIT - CLOSING_ROOM - textIn(buttons);
  let room = MAX_BLOCKS - 1 - buttons.length;
  const blocks: KnownBlock[] = [];
  let left = 0;
  let closingAt = 0;
  for (const block of msg.blocks) {
    if (block.type === 'actions') {
      blocks.push(block);
      continue;
    }
    const size = textIn(block);
    // Once one is left out, so is every later one: what is shown stays in its order, without gaps.
    if (left === 0 && room > 0 && size <= budget) {
      blocks.push(block);
      budget -= size;
      room -= 1;
      continue;
    }
    if (left === 0) closingAt = blocks.length;
    left += 1;
  }
  blocks.splice(closingAt, 0, context(md`… and ${left} more, which Slack cannot show in one message`));
  return { ...msg, text, blocks };
}
