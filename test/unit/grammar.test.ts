import { VERBS } from '../../src/commands/domain/grammar';
import { parseCommand, tokenize } from '../../src/commands/domain/parse';
import type { ParseResult, Vocabulary } from '../../src/commands/domain/types';
import { helpMessage } from '../../src/commands/help';

const vocabulary: Vocabulary = {
  environments: ['staging', 'production'],
  services: ['api-gateway', 'auth', 'education', 'payment', 'postgres-replica'],
};
const parse = (text: string) => parseCommand(text, vocabulary, Date.now());
const command = (text: string) => {
  const result = parse(text);
  if (!result.ok) throw new Error(`expected '${text}' to parse, got: ${result.error}`);
  return result.command;
};
const refusal = (text: string) => {
  const result = parse(text);
  if (result.ok) throw new Error(`expected '${text}' to be refused, got ${JSON.stringify(result.command)}`);
  return result;
};

describe('the /azora grammar', () => {
  it.each([
    ['', { verb: 'help' }],
    ['help scale', { verb: 'help', topic: 'scale' }],
    ['status prod', { verb: 'status', environment: 'production' }],
    ['STATUS Stg', { verb: 'status', environment: 'staging' }],
    [
      'scale production api-gateway 5',
      { verb: 'scale', environment: 'production', service: 'api-gateway', replicas: 5, force: false },
    ],
    [
      'scale staging auth 4 force',
      { verb: 'scale', environment: 'staging', service: 'auth', replicas: 4, force: true },
    ],
    ['switch production green', { verb: 'switch', environment: 'production', colour: 'green' }],
    [
      'deploy prod payment v1.6.0',
      { verb: 'deploy', environment: 'production', service: 'payment', version: 'v1.6.0', force: false },
    ],
    [
      'deploy production payment v1.6.0 force',
      { verb: 'deploy', environment: 'production', service: 'payment', version: 'v1.6.0', force: true },
    ],
    ['releases production', { verb: 'releases', environment: 'production' }],
    [
      'incident declare sev2 payment errors after the deploy',
      { verb: 'incident', action: 'declare', severity: 'sev2', title: 'payment errors after the deploy' },
    ],
    ['incident status identified', { verb: 'incident', action: 'status', status: 'identified' }],
    [
      'incident commander <@U0APPROVER1|jonas>',
      { verb: 'incident', action: 'commander', user: 'U0APPROVER1' },
    ],
    ['incident list', { verb: 'incident', action: 'list' }],
    ['oncall', { verb: 'oncall' }],
    ['oncall production', { verb: 'oncall' }],
    ['oncall Stg', { verb: 'oncall' }],
    ['releases stg auth', { verb: 'releases', environment: 'staging', service: 'auth' }],
    [
      'switch production blue payment',
      { verb: 'switch', environment: 'production', colour: 'blue', service: 'payment' },
    ],
    ['rollback production', { verb: 'rollback', environment: 'production' }],
    ['rollback staging payment', { verb: 'rollback', environment: 'staging', service: 'payment' }],
    [
      'rollback staging payment to 3',
      { verb: 'rollback', environment: 'staging', service: 'payment', toRevision: 3 },
    ],
    ['logs production payment', { verb: 'logs', environment: 'production', service: 'payment', lines: 100 }],
    [
      'logs production payment 200 since 15m grep "upstream timeout"',
      {
        verb: 'logs',
        environment: 'production',
        service: 'payment',
        lines: 200,
        sinceMs: 900_000,
        grep: 'upstream timeout',
      },
    ],
    [
      'logs prod auth follow 60s grep token refresh',
      {
        verb: 'logs',
        environment: 'production',
        service: 'auth',
        lines: 100,
        followMs: 60_000,
        grep: 'token refresh',
      },
    ],
    [
      'logs prod auth grep timeout follow 60s',
      {
        verb: 'logs',
        environment: 'production',
        service: 'auth',
        lines: 100,
        followMs: 60_000,
        grep: 'timeout',
      },
    ],
    [
      'logs prod auth grep "upstream follow 60s"',
      { verb: 'logs', environment: 'production', service: 'auth', lines: 100, grep: 'upstream follow 60s' },
    ],
  ])('%s', (text, expected) => {
    expect(command(text)).toEqual(expected);
  });

  it.each([
    ['reboot production', "unknown command 'reboot'"],
    ['status', 'which environment? staging or production'],
    ['status qa', "unknown environment 'qa': use staging or production"],
    ['status production now', "unexpected 'now'"],
    ['oncall production now', "unexpected 'now'"],
    ['logs production payment 200 100', 'the number of lines is given twice'],
    ['logs production payment since 5m since 1h', 'since is given twice'],
    ['logs production payment follow 30s grep timeout follow 60s', 'follow is given twice'],
    [
      'scale production billing 3',
      "unknown service 'billing': known services are api-gateway, auth, education, payment, postgres-replica",
    ],
    ['scale production api-gateway five', 'replicas must be a whole number'],
    ['scale production api-gateway 501', 'replicas must be between 0 and 500, got 501'],
    ['scale production api-gateway -1', 'replicas must be a whole number'],
    ['switch production purple', 'switch to which colour? blue or green'],
    ['rollback production to 3', 'rolling back to a revision needs a service'],
    ['deploy production payment', 'deploy which version? a tag such as v1.6.0, or a digest sha256:…'],
    ['deploy production payment force', 'deploy which version? a tag such as v1.6.0, or a digest sha256:…'],
    ['deploy production payment v1 now', "unexpected 'now'"],
    [
      'deploy production billing v1',
      "unknown service 'billing': known services are api-gateway, auth, education, payment, postgres-replica",
    ],
    ['releases production payment auth', "unexpected 'auth'"],
    ['incident declare sev4 x', 'which severity? sev1, sev2, sev3'],
    ['incident declare sev1', 'declare it with a title: what is wrong, in a few words'],
    [
      'incident status resolved',
      'resolve it with a summary: `/azora incident resolve <what happened and what fixed it>`',
    ],
    ['incident commander jonas', 'who commands it? mention them: `commander @name`'],
    // Slack's ids are at most 21 characters: a longer one is no user (and would overrun the topic).
    [`incident commander <@U${'A'.repeat(21)}>`, 'who commands it? mention them: `commander @name`'],
    ['rollback production payment to x', 'the revision must be a whole number'],
    ['logs production payment 5000', 'lines must be between 1 and 1000, got 5000'],
    ['logs production payment follow 1h', 'follow is at most 5m'],
    ['logs production payment since soon', 'since needs a duration such as 30s, 15m or 2h'],
    ['logs production payment grep', 'grep needs the text to look for'],
    // `follow 60s` at the end means follow: no text is left to look for.
    ['logs staging payment grep follow 60s', 'grep needs the text to look for'],
  ])('refuses %s', (text, error) => {
    expect(refusal(text).error).toBe(error);
  });

  it('shows the verb usage with a refusal of a known verb', () => {
    expect(refusal('scale production').usage).toBe('/azora scale <environment> <service> <replicas> [force]');
  });

  it('generates help from the same table the parser uses', () => {
    const help = helpMessage();
    for (const spec of VERBS) expect(help.text).toContain(`/azora ${spec.usage}`);
    expect(helpMessage('logs').text).toBe(
      "/azora logs <environment> <service> [lines] [since <duration>] [follow <duration>] [grep <text>]: the last lines across the service's pods, in a thread (default 100, at most 1000)",
    );
  });

  it('keeps quoted phrases together', () => {
    expect(tokenize('logs prod auth grep "a  b" c')).toEqual(['logs', 'prod', 'auth', 'grep', 'a  b', 'c']);
    // As a phone or macOS types them.
    expect(tokenize('grep “connection reset” c')).toEqual(['grep', 'connection reset', 'c']);
  });

  it('never throws on random input, and refuses what is not a well-formed command', () => {
    const alphabet = [
      'scale',
      'switch',
      'rollback',
      'logs',
      'status',
      'help',
      'prod',
      'production',
      'stg',
      'api-gateway',
      'payment',
      'to',
      'since',
      'grep',
      'follow',
      'force',
      'green',
      'blue',
      '0',
      '3',
      '-1',
      '99999',
      '15m',
      '"',
      '\u0000',
      'é',
      ' ',
      '\n',
    ];
    // Seeded, so a failure can be replayed with the FUZZ_SEED its message names.
    const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const randomInt = seededInts(seed);
    const results: ParseResult[] = [];
    for (let i = 0; i < 5_000; i++) {
      const words = Array.from({ length: randomInt(0, 8) }, () =>
        randomInt(4) === 0
          ? String.fromCharCode(randomInt(0, 0xffff))
          : alphabet[randomInt(alphabet.length)]!,
      );
      const text = words.join(randomInt(2) ? ' ' : '  ');
      try {
        const result = parse(text);
        results.push(result);
        if (result.ok && result.command.verb !== 'help') {
          // Whatever parsed must name only known environments and services.
          const c = result.command as { environment?: string; service?: string };
          expect(vocabulary.environments).toContain(c.environment);
          if (c.service !== undefined) expect(vocabulary.services).toContain(c.service);
        } else if (!result.ok) {
          expect(result.error.length).toBeGreaterThan(0);
          expect(result.usage).toMatch(/^\/azora /);
        }
      } catch (err) {
        throw new Error(`FUZZ_SEED=${seed}, input ${JSON.stringify(text)}: ${(err as Error).message}`);
      }
    }
    expect(results.some((r) => !r.ok)).toBe(true);
  });

  it('refuses over-long input without parsing it, showing the form of its verb', () => {
    const long = refusal(`incident note ${'x'.repeat(2_100)}`);
    expect(long.error).toBe('that command is over 2100 characters');
    expect(long.usage).toMatch(/^\/azora incident /);
  });

  it('bounds each text as it is kept: an incident note of 1,000 characters, grep text of 200', () => {
    expect(parse(`incident note ${'x'.repeat(1_000)}`)).toMatchObject({ ok: true });
    expect(refusal(`incident note ${'x'.repeat(1_001)}`).error).toBe('that is longer than 1,000 characters');
    expect(parse(`incident resolve ${'x'.repeat(500)}`)).toMatchObject({ ok: true });
    expect(refusal(`incident resolve ${'x'.repeat(501)}`).error).toBe(
      'a resolution (the rest goes in notes, which the postmortem lists) is longer than 500 characters',
    );
    expect(refusal(`logs prod auth grep ${'x'.repeat(201)}`).error).toBe(
      'the grep text is at most 200 characters',
    );
  });
});

/** randomInt(max) and randomInt(min, max) like node:crypto's, from a seeded mulberry32. */
function seededInts(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (a: number, b?: number) =>
    b === undefined ? Math.floor(next() * a) : a + Math.floor(next() * (b - a));
}
