import { parseDuration } from '../duration';
import type { Colour, Command, EnvironmentName, Verb, Vocabulary } from './types';

export const LOG_LINES = { default: 100, max: 1000 } as const;
export const LOG_FOLLOW_MAX_MS = 5 * 60_000;

const ENV_ALIASES: Record<string, EnvironmentName> = {
  staging: 'staging',
  stg: 'staging',
  production: 'production',
  prod: 'production',
};

/** A parse step failed; the message says what was wrong in the user's words. */
export class Refusal extends Error {}

/** The words after the verb, consumed left to right by one verb's parser. */
export class Words {
  private index = 0;
  constructor(
    private readonly words: readonly string[],
    readonly vocabulary: Vocabulary,
  ) {}

  peek(): string | undefined {
    return this.words[this.index];
  }

  next(): string | undefined {
    return this.words[this.index++];
  }

  rest(): string[] {
    const rest = this.words.slice(this.index);
    this.index = this.words.length;
    return rest;
  }

  environment(): EnvironmentName {
    const word = this.next();
    if (word === undefined) throw new Refusal('which environment? staging or production');
    const env = ENV_ALIASES[word.toLowerCase()];
    if (!env || !this.vocabulary.environments.includes(env)) {
      throw new Refusal(`unknown environment '${word}': use ${this.vocabulary.environments.join(' or ')}`);
    }
    return env;
  }

  service(word = this.next()): string {
    if (word === undefined) throw new Refusal('which service?');
    const name = word.toLowerCase();
    if (!this.vocabulary.services.includes(name)) {
      throw new Refusal(
        `unknown service '${word}': known services are ${this.vocabulary.services.join(', ')}`,
      );
    }
    return name;
  }

  done(): void {
    const extra = this.rest();
    if (extra.length > 0) throw new Refusal(`unexpected '${extra.join(' ')}'`);
  }
}

function wholeNumber(word: string | undefined, what: string, min: number, max: number): number {
  if (word === undefined || !/^\d+$/.test(word)) throw new Refusal(`${what} must be a whole number`);
  const value = Number(word);
  if (value < min || value > max)
    throw new Refusal(`${what} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function duration(word: string | undefined, what: string, maxMs: number): number {
  const ms = word === undefined ? undefined : parseDuration(word);
  if (ms === undefined || ms <= 0) throw new Refusal(`${what} needs a duration such as 30s, 15m or 2h`);
  if (ms > maxMs) throw new Refusal(`${what} is at most ${maxMs / 60_000}m`);
  return ms;
}

export interface VerbSpec {
  verb: Verb;
  usage: string;
  summary: string;
  examples: string[];
  parse(words: Words): Command;
}

/**
 * The one table of `/azora` verbs: the parser, the help text and the error replies all
 * come from it, so a verb cannot be documented one way and parsed another.
 */
export const VERBS: readonly VerbSpec[] = [
  {
    verb: 'help',
    usage: 'help [verb]',
    summary: 'this help, or the details of one verb',
    examples: ['/azora help', '/azora help scale'],
    parse: (w) => {
      const topic = w.next()?.toLowerCase();
      w.done();
      return topic ? { verb: 'help', topic } : { verb: 'help' };
    },
  },
  {
    verb: 'status',
    usage: 'status <environment>',
    summary:
      'deployments, replicas ready/desired, active colour, HPA bounds, pending approvals, running jobs',
    examples: ['/azora status production'],
    parse: (w) => {
      const environment = w.environment();
      w.done();
      return { verb: 'status', environment };
    },
  },
  {
    verb: 'scale',
    usage: 'scale <environment> <service> <replicas> [force]',
    summary: 'set the replica count (an HPA gets its bounds moved instead); force skips the cooldown',
    examples: ['/azora scale staging auth 4', '/azora scale production api-gateway 5'],
    parse: (w) => {
      const environment = w.environment();
      const service = w.service();
      const replicas = wholeNumber(w.next(), 'replicas', 0, 500);
      const force = w.peek()?.toLowerCase() === 'force';
      if (force) w.next();
      w.done();
      return { verb: 'scale', environment, service, replicas, force };
    },
  },
  {
    verb: 'switch',
    usage: 'switch <environment> <blue|green> [service]',
    summary: 'blue/green: send traffic to the other colour once it is fully ready (all services by default)',
    examples: ['/azora switch production green', '/azora switch production blue payment'],
    parse: (w) => {
      const environment = w.environment();
      const colour = w.next()?.toLowerCase();
      if (colour !== 'blue' && colour !== 'green') throw new Refusal('switch to which colour? blue or green');
      const service = w.peek() === undefined ? undefined : w.service();
      w.done();
      return { verb: 'switch', environment, colour: colour as Colour, ...(service ? { service } : {}) };
    },
  },
  {
    verb: 'rollback',
    usage: 'rollback <environment> [service] [to <revision>]',
    summary:
      'undo the last rollout (blue/green: switch back to the previous colour); all services by default',
    examples: ['/azora rollback production', '/azora rollback staging payment to 3'],
    parse: (w) => {
      const environment = w.environment();
      const next = w.peek();
      const service = next !== undefined && next.toLowerCase() !== 'to' ? w.service() : undefined;
      let toRevision: number | undefined;
      if (w.peek()?.toLowerCase() === 'to') {
        w.next();
        if (!service) throw new Refusal('rolling back to a revision needs a service');
        toRevision = wholeNumber(w.next(), 'the revision', 1, 1_000_000);
      }
      w.done();
      return {
        verb: 'rollback',
        environment,
        ...(service ? { service } : {}),
        ...(toRevision ? { toRevision } : {}),
      };
    },
  },
  {
    verb: 'logs',
    usage: 'logs <environment> <service> [lines] [since <duration>] [grep <text>] [follow <duration>]',
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
      for (let word = w.next(); word !== undefined; word = w.next()) {
        const keyword = word.toLowerCase();
        if (/^\d+$/.test(word)) command.lines = wholeNumber(word, 'lines', 1, LOG_LINES.max);
        else if (keyword === 'since') command.sinceMs = duration(w.next(), 'since', 7 * 86_400_000);
        else if (keyword === 'follow') command.followMs = duration(w.next(), 'follow', LOG_FOLLOW_MAX_MS);
        else if (keyword === 'grep') {
          const text = w.rest().join(' ');
          if (!text) throw new Refusal('grep needs the text to look for');
          command.grep = text;
        } else throw new Refusal(`unexpected '${word}'`);
      }
      return command;
    },
  },
  {
    verb: 'oncall',
    usage: 'oncall',
    summary: 'who is on call now, by escalation level (PagerDuty)',
    examples: ['/azora oncall'],
    parse: (w) => {
      w.done();
      return { verb: 'oncall' };
    },
  },
];

export function findVerb(name: string): VerbSpec | undefined {
  const lower = name.toLowerCase();
  return VERBS.find((spec) => spec.verb === lower);
}
