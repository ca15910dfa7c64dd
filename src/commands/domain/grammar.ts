import { Refusal } from '../../kernel/domain/refusal';
import { parseDuration } from '../../kernel/domain/duration';
import { parseStart } from '../../maintenance/domain/time';
import type { Colour, Command, EnvironmentName, Verb, Vocabulary } from './types';
import { INCIDENT_SEVERITIES, type IncidentSeverity } from '../../config/policy';

export const LOG_LINES = { default: 100, max: 1000 } as const;
export const LOG_FOLLOW_MAX_MS = 5 * 60_000;
export const MAINTENANCE_MAX_MS = 24 * 3_600_000;
/** Words that can only mean an environment we do not have, at the end of a maintenance reason. */
const ENVIRONMENT_LIKE = new Set([
  'qa',
  'dev',
  'development',
  'test',
  'testing',
  'uat',
  'preprod',
  'sandbox',
  'prd',
]);

const ENV_ALIASES: Record<string, EnvironmentName> = {
  staging: 'staging',
  stg: 'staging',
  production: 'production',
  prod: 'production',
};

/** A parse step failed; the message says what was wrong in the user's words. */

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

function wholeNumber(word: string | undefined, what: string, min: number, max: number): number {
  if (word === undefined || !/^\d+$/.test(word)) throw new Refusal('input', `${what} must be a whole number`);
  const value = Number(word);
  if (value < min || value > max)
    throw new Refusal('input', `${what} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function duration(word: string | undefined, what: string, maxMs: number): number {
  const ms = word === undefined ? undefined : parseDuration(word);
  if (ms === undefined || ms <= 0)
    throw new Refusal('input', `${what} needs a duration such as 30s, 15m or 2h`);
  if (ms > maxMs) throw new Refusal('input', `${what} is at most ${maxMs / 60_000}m`);
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
      if (colour !== 'blue' && colour !== 'green')
        throw new Refusal('input', 'switch to which colour? blue or green');
      const service = w.peek() === undefined ? undefined : w.service();
      w.done();
      return { verb: 'switch', environment, colour: colour as Colour, ...(service ? { service } : {}) };
    },
  },
  {
    verb: 'rollback',
    usage: 'rollback <environment> [service] [to <revision>]',
    summary:
      'undo the last rollout (blue/green: back to the colour live before, while it still holds that version); all services by default',
    examples: ['/azora rollback production', '/azora rollback staging payment to 3'],
    parse: (w) => {
      const environment = w.environment();
      const next = w.peek();
      const service = next !== undefined && next.toLowerCase() !== 'to' ? w.service() : undefined;
      let toRevision: number | undefined;
      if (w.peek()?.toLowerCase() === 'to') {
        w.next();
        if (!service) throw new Refusal('input', 'rolling back to a revision needs a service');
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
    verb: 'deploy',
    usage: 'deploy <environment> <service> <version> [force]',
    summary:
      "put a version (a tag or digest of the service's image in the policy) on a service: rolling in staging; in production onto the idle colour, checked, then switched",
    examples: ['/azora deploy staging payment v1.6.0', '/azora deploy production payment v1.6.0'],
    parse: (w) => {
      const environment = w.environment();
      const service = w.service();
      const version = w.next();
      if (version === undefined || version.toLowerCase() === 'force')
        throw new Refusal('input', 'deploy which version? a tag such as v1.6.0, or a digest sha256:…');
      if (version.length > 300) throw new Refusal('input', 'that version is longer than any image reference');
      const force = w.peek()?.toLowerCase() === 'force';
      if (force) w.next();
      w.done();
      return { verb: 'deploy', environment, service, version, force };
    },
  },
  {
    verb: 'releases',
    usage: 'releases <environment> [service]',
    summary: 'release history: version, image, colour, who asked and approved, when, and how it ended',
    examples: ['/azora releases production', '/azora releases production payment'],
    parse: (w) => {
      const environment = w.environment();
      const service = w.peek() === undefined ? undefined : w.service();
      w.done();
      return { verb: 'releases', environment, ...(service ? { service } : {}) };
    },
  },
  {
    verb: 'backup',
    usage: 'backup <environment>',
    summary:
      "back the database up now (pg_dump in a Kubernetes Job from the policy's template); the result in a thread",
    examples: ['/azora backup production'],
    parse: (w) => {
      const environment = w.environment();
      w.done();
      return { verb: 'backup', environment };
    },
  },
  {
    verb: 'backups',
    usage: 'backups <environment>',
    summary: 'the backups kept: id, when, size, who asked',
    examples: ['/azora backups production'],
    parse: (w) => {
      const environment = w.environment();
      w.done();
      return { verb: 'backups', environment };
    },
  },
  {
    verb: 'restore',
    usage: 'restore <environment> <backup>',
    summary:
      'restore the database from a backup (destructive: in production an approver confirms by typing the environment), inside a maintenance window, then the verification query',
    examples: ['/azora restore staging azora-backup-staging-20261201-0200-1a2b'],
    parse: (w) => {
      const environment = w.environment();
      const backup = w.next();
      if (!backup)
        throw new Refusal('input', 'restore which backup? its id from `/azora backups <environment>`');
      if (!/^azora-backup-[a-z]+-\d{8}-\d{4}-[0-9a-f]{4}$/.test(backup))
        throw new Refusal(
          'input',
          `'${backup.slice(0, 80)}' is not a backup id; see \`/azora backups ${environment}\``,
        );
      w.done();
      return { verb: 'restore', environment, backup };
    },
  },
  {
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
      for (let word = w.next(); word !== undefined; word = w.next()) {
        const keyword = word.toLowerCase();
        if (/^\d+$/.test(word)) command.lines = wholeNumber(word, 'lines', 1, LOG_LINES.max);
        else if (keyword === 'since') command.sinceMs = duration(w.next(), 'since', 7 * 86_400_000);
        else if (keyword === 'follow') command.followMs = duration(w.next(), 'follow', LOG_FOLLOW_MAX_MS);
        else if (keyword === 'grep') {
          const words = w.rest();
          // `follow <duration>` after the text still means follow; quoted, the words are text.
          if (words.length >= 3 && words[words.length - 2]!.toLowerCase() === 'follow') {
            const [, length] = words.splice(-2);
            command.followMs = duration(length, 'follow', LOG_FOLLOW_MAX_MS);
          }
          const text = words.join(' ');
          if (!text) throw new Refusal('input', 'grep needs the text to look for');
          command.grep = text;
        } else throw new Refusal('input', `unexpected '${word}'`);
      }
      return command;
    },
  },
  {
    verb: 'maintenance',
    usage:
      'maintenance schedule <start> <duration> <reason> [environment] | now <duration> <reason> | move <id> <start> <duration> | list | cancel <id>',
    summary: 'announce a maintenance window (start in UTC: 2026-12-06T02:00Z, 2026-12-06 02:00 or sun 02:00)',
    examples: [
      '/azora maintenance schedule sun 02:00 2h PostgreSQL minor upgrade',
      '/azora maintenance list',
    ],
    parse: (w): Command => {
      const action = w.next()?.toLowerCase();
      if (action === 'list') {
        w.done();
        return { verb: 'maintenance', action: 'list' };
      }
      if (action === 'cancel') {
        const id = w.next();
        if (!id || !/^m[0-9a-z-]+$/.test(id))
          throw new Refusal('input', 'cancel which window? give its id from `/azora maintenance list`');
        w.done();
        return { verb: 'maintenance', action: 'cancel', id };
      }
      if (action === 'move') {
        const id = w.next();
        if (!id || !/^m[0-9a-z-]+$/.test(id))
          throw new Refusal('input', 'move which window? give its id from `/azora maintenance list`');
        const start = parseStart(w.remaining(), w.now);
        if (!start.ok) throw new Refusal('input', start.error);
        w.skip(start.consumed);
        const durationMs = duration(w.next(), 'the duration', MAINTENANCE_MAX_MS);
        if (durationMs < 60_000) throw new Refusal('input', 'a maintenance window lasts at least 1m');
        w.done();
        return { verb: 'maintenance', action: 'move', id, start: start.at, durationMs };
      }
      if (action === 'now') return { verb: 'maintenance', action: 'now', ...windowTail(w) };
      if (action === 'schedule') {
        const start = parseStart(w.remaining(), w.now);
        if (!start.ok) throw new Refusal('input', start.error);
        w.skip(start.consumed);
        return { verb: 'maintenance', action: 'schedule', start: start.at, ...windowTail(w) };
      }
      throw new Refusal('input', 'maintenance schedule, now, move, list or cancel?');
    },
  },
  {
    verb: 'incident',
    usage:
      'incident declare <sev1|sev2|sev3> <title> | note <text> | status <investigating|identified|monitoring> | commander <@user> | severity <sev> | timeline | resolve <summary> | list',
    summary:
      'declare an incident (its own channel, responders invited, a pinned summary, a timeline); in its channel: note, status, commander, severity, timeline, resolve with a postmortem draft',
    examples: ['/azora incident declare sev2 payment errors after the deploy', '/azora incident list'],
    parse: (w): Command => {
      const action = w.next()?.toLowerCase();
      const text = (missing: string) => {
        const rest = w.rest().join(' ').trim();
        if (!rest) throw new Refusal('input', missing);
        if (rest.length > 2_000) throw new Refusal('input', 'that is longer than 2,000 characters');
        return rest;
      };
      const severity = (word = w.next()?.toLowerCase()): IncidentSeverity => {
        if (!word || !(INCIDENT_SEVERITIES as readonly string[]).includes(word))
          throw new Refusal('input', `which severity? ${INCIDENT_SEVERITIES.join(', ')}`);
        return word as IncidentSeverity;
      };
      switch (action) {
        case 'declare': {
          const sev = severity();
          const title = text('declare it with a title: what is wrong, in a few words');
          if (title.length > 200) throw new Refusal('input', 'a title is at most 200 characters');
          return { verb: 'incident', action, severity: sev, title };
        }
        case 'note':
          return { verb: 'incident', action, text: text('note what? the text goes into the timeline') };
        case 'status': {
          const status = w.next()?.toLowerCase();
          if (status === 'resolved')
            throw new Refusal(
              'input',
              'resolve it with a summary: `/azora incident resolve <what happened and what fixed it>`',
            );
          if (status !== 'investigating' && status !== 'identified' && status !== 'monitoring')
            throw new Refusal('input', 'which status? investigating, identified or monitoring');
          w.done();
          return { verb: 'incident', action, status };
        }
        case 'commander': {
          const who = /^<@([UW][A-Z0-9]{2,})(\|[^>]*)?>$|^([UW][A-Z0-9]{2,})$/.exec(w.next() ?? '');
          if (!who) throw new Refusal('input', 'who commands it? mention them: `commander @name`');
          w.done();
          return { verb: 'incident', action, user: (who[1] ?? who[3])! };
        }
        case 'severity': {
          const sev = severity();
          w.done();
          return { verb: 'incident', action, severity: sev };
        }
        case 'resolve':
          return {
            verb: 'incident',
            action,
            summary: text('resolve it with a summary: what happened and what fixed it'),
          };
        case 'list':
        case 'timeline':
          w.done();
          return { verb: 'incident', action };
        default:
          throw new Refusal(
            'input',
            'incident declare, note, status, commander, severity, timeline, resolve or list?',
          );
      }
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

/** `… <duration> <reason words> [environment]`: the tail shared by `maintenance schedule` and `now`. */
function windowTail(w: Words): { durationMs: number; reason: string; environment: EnvironmentName } {
  const durationMs = duration(w.next(), 'the duration', MAINTENANCE_MAX_MS);
  if (durationMs < 60_000) throw new Refusal('input', 'a maintenance window lasts at least 1m');
  const rest = w.rest();
  const last = rest.at(-1)?.toLowerCase();
  if (last && ENVIRONMENT_LIKE.has(last))
    throw new Refusal('input', `unknown environment '${rest.at(-1)}': use staging or production`);
  const environment = last && ENV_ALIASES[last] ? ENV_ALIASES[last]! : 'production';
  if (last && ENV_ALIASES[last]) rest.pop();
  if (!w.vocabulary.environments.includes(environment))
    throw new Refusal('input', `unknown environment '${environment}'`);
  const reason = rest.join(' ').trim();
  if (!reason) throw new Refusal('input', 'say why: the reason is announced to everyone');
  return { durationMs, reason, environment };
}

export function findVerb(name: string): VerbSpec | undefined {
  const lower = name.toLowerCase();
  return VERBS.find((spec) => spec.verb === lower);
}
