import { Refusal } from '../../kernel/domain/refusal';
import { findVerb, VERBS, Words } from './grammar';
import type { ParseResult, Vocabulary } from './types';

/** Room for the longest text a verb takes, with its words around it; each verb bounds its own text. */
const MAX_TEXT = 2_100;

/**
 * Splits on white space, keeping "double quoted" phrases whole (for grep text and
 * reasons); “curly” quotes too, as phones and macOS type them.
 */
export function tokenize(text: string): string[] {
  const words: string[] = [];
  for (const match of text.matchAll(/"([^"]*)"|“([^”]*)”|(\S+)/g))
    words.push(match[1] ?? match[2] ?? match[3] ?? '');
  return words;
}

/** `/azora <verb> …` text to a command, or the reason it is not one and the right form. */
/** `now` places relative times (`sun 02:00`): the caller's clock, so the parser stays pure. */
export function parseCommand(text: string, vocabulary: Vocabulary, now: number): ParseResult {
  if (text.length > MAX_TEXT) {
    const spec = findVerb(/^\s*(\S*)/.exec(text)?.[1] ?? '');
    return {
      ok: false,
      error: `that command is over ${MAX_TEXT} characters`,
      usage: spec ? `/azora ${spec.usage}` : overview(),
    };
  }
  const [verbWord, ...rest] = tokenize(text);
  if (verbWord === undefined) return { ok: true, command: { verb: 'help' } };
  const spec = findVerb(verbWord);
  if (!spec) return { ok: false, error: `unknown command '${verbWord}'`, usage: overview() };
  try {
    return { ok: true, command: spec.parse(new Words(rest, vocabulary, now)) };
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, error: err.message, usage: `/azora ${spec.usage}` };
    throw err;
  }
}

function overview(): string {
  return VERBS.map((spec) => `/azora ${spec.usage}`).join('\n');
}
