import { Refusal } from '../../kernel/domain/refusal';
import { parseDuration } from '../../kernel/domain/duration';
import type { Command, EnvironmentName, Verb, Vocabulary } from './types';

/** What each word for an environment means. */
export const ENV_ALIASES: Readonly<Record<string, EnvironmentName>> = {
  staging: 'staging',
  stg: 'staging',
  production: 'production',
  prod: 'production',
};

/** The words after the verb, consumed left to right by one verb's parser. */
export class Words {
  private index = 0;
  constructor(
    private readonly words: readonly string[],
    readonly vocabulary: Vocabulary,
    readonly now: number,
  ) {}

  peek(): string | undefined {
    return this.words[this.index];
  }

  next(): string | undefined {
    return this.words[this.index++];
  }

  /** The words not read yet, left unread: for a form whose length the caller works out. */
  remaining(): readonly string[] {
    return this.words.slice(this.index);
  }

  skip(count: number): void {
    this.index += count;
  }

  rest(): string[] {
    const rest = this.words.slice(this.index);
    this.index = this.words.length;
    return rest;
  }

  environment(): EnvironmentName {
    const word = this.next();
    if (word === undefined) throw new Refusal('input', 'which environment? staging or production');
    const env = ENV_ALIASES[word.toLowerCase()];
    if (!env || !this.vocabulary.environments.includes(env)) {
      throw new Refusal(
        'input',
        `unknown environment '${word}': use ${this.vocabulary.environments.join(' or ')}`,
      );
    }
    return env;
  }

  service(word = this.next()): string {
    if (word === undefined) throw new Refusal('input', 'which service?');
    const name = word.toLowerCase();
    if (!this.vocabulary.services.includes(name)) {
      throw new Refusal(
        'input',
        `unknown service '${word}': known services are ${this.vocabulary.services.join(', ')}`,
      );
    }
    return name;
  }

  done(): void {
    const extra = this.rest();
    if (extra.length > 0) throw new Refusal('input', `unexpected '${extra.join(' ')}'`);
  }
}

/** A whole number within bounds, or a refusal naming `what`. */
export function wholeNumber(word: string | undefined, what: string, min: number, max: number): number {
  if (word === undefined || !/^\d+$/.test(word)) throw new Refusal('input', `${what} must be a whole number`);
  const value = Number(word);
  if (value < min || value > max)
    throw new Refusal('input', `${what} must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** A bound in the largest unit that says it whole: 5m, 24h, 7d. */
function largestUnit(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const)
    if (ms % size === 0 && ms / size >= (unit === 'd' ? 2 : 1)) return `${ms / size}${unit}`;
  return `${ms / 1_000}s`;
}

/** A duration up to `maxMs`, or a refusal naming `what`. */
export function duration(word: string | undefined, what: string, maxMs: number): number {
  const ms = word === undefined ? undefined : parseDuration(word);
  if (ms === undefined || ms <= 0)
    throw new Refusal('input', `${what} needs a duration such as 30s, 15m or 2h`);
  if (ms > maxMs) throw new Refusal('input', `${what} is at most ${largestUnit(maxMs)}`);
  return ms;
}

/** One `/azora` verb: its help and its parser. Each use case declares its own (`<use case>/domain/verbs.ts`). */
export interface VerbSpec {
  verb: Verb;
  usage: string;
  summary: string;
  examples: string[];
  parse(words: Words): Command;
}
