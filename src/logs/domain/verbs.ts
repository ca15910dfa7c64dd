import { Refusal } from '../../kernel/domain/refusal';
import type { Command } from '../../commands/domain/types';
import { duration, wholeNumber, type VerbSpec } from '../../commands/domain/words';

export const LOG_LINES = { default: 100, max: 1000 } as const;
export const LOG_FOLLOW_MAX_MS = 5 * 60_000;
export const LOG_GREP_MAX = 200;

export const logsVerb: VerbSpec = {
  verb: 'logs',
  usage: 'logs <environment> <service> [lines] [since <duration>] [follow <duration>] [grep <text>]',
  summary: `the last lines across the service's pods, in a thread (default ${LOG_LINES.default}, at most ${LOG_LINES.max})`,
  examples: ['/azora logs production payment', '/azora logs production payment 200 since 15m grep timeout'],
  parse: (w) => {
    const environment = w.environment();
    const service = w.service();
    const command: Extract<Command, { verb: 'logs' }> = {
      verb: 'logs',
      environment,
      service,
      lines: LOG_LINES.default,
    };
    // An option given twice is refused: which one was meant is a guess (`200 100`).
    const given = new Set<string>();
    const once = (option: string) => {
      if (given.has(option)) throw new Refusal('input', `${option} is given twice`);
      given.add(option);
    };
    for (let word = w.next(); word !== undefined; word = w.next()) {
      const keyword = word.toLowerCase();
      once(/^\d+$/.test(word) ? 'the number of lines' : keyword);
      if (/^\d+$/.test(word)) command.lines = wholeNumber(word, 'lines', 1, LOG_LINES.max);
      else if (keyword === 'since') command.sinceMs = duration(w.next(), 'since', 7 * 86_400_000);
      else if (keyword === 'follow') command.followMs = duration(w.next(), 'follow', LOG_FOLLOW_MAX_MS);
      else if (keyword === 'grep') {
        const words = w.rest();
        // `follow <duration>` after the text still means follow; quoted, the words are text.
        if (words.length >= 2 && words[words.length - 2]!.toLowerCase() === 'follow') {
          once('follow');
          const [, length] = words.splice(-2);
          command.followMs = duration(length, 'follow', LOG_FOLLOW_MAX_MS);
        }
        const text = words.join(' ');
        if (!text) throw new Refusal('input', 'grep needs the text to look for');
        if (text.length > LOG_GREP_MAX)
          throw new Refusal('input', `the grep text is at most ${LOG_GREP_MAX} characters`);
        command.grep = text;
      } else throw new Refusal('input', `unexpected '${word}'`);
    }
    return command;
  },
};
