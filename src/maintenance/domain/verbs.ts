import { Refusal } from '../../kernel/domain/refusal';
import type { Command, EnvironmentName } from '../../commands/domain/types';
import { duration, ENV_ALIASES, type VerbSpec, type Words } from '../../commands/domain/words';
import { parseStart } from './time';

export const MAINTENANCE_MAX_MS = 24 * 3_600_000;
export const MAINTENANCE_REASON_MAX = 500;
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

export const maintenanceVerb: VerbSpec = {
  verb: 'maintenance',
  usage:
    'maintenance schedule <start> <duration> <reason> [environment] | now <duration> <reason> | move <id> <start> <duration> | list | cancel <id>',
  summary: 'announce a maintenance window (start in UTC: 2026-12-06T02:00Z, 2026-12-06 02:00 or sun 02:00)',
  examples: ['/azora maintenance schedule sun 02:00 2h PostgreSQL minor upgrade', '/azora maintenance list'],
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
};

/** `… <duration> <reason words> [environment]`: the tail shared by `maintenance schedule` and `now`. */
function windowTail(w: Words): { durationMs: number; reason: string; environment: EnvironmentName } {
  const durationMs = duration(w.next(), 'the duration', MAINTENANCE_MAX_MS);
  if (durationMs < 60_000) throw new Refusal('input', 'a maintenance window lasts at least 1m');
  const rest = w.rest();
  const last = rest.at(-1)?.toLowerCase();
  if (last && ENVIRONMENT_LIKE.has(last))
    throw new Refusal(
      'input',
      `unknown environment '${rest.at(-1)}': use staging or production (to end the reason with that word, put the reason in quotes)`,
    );
  const environment = last && ENV_ALIASES[last] ? ENV_ALIASES[last]! : 'production';
  if (last && ENV_ALIASES[last]) rest.pop();
  if (!w.vocabulary.environments.includes(environment))
    throw new Refusal('input', `unknown environment '${environment}'`);
  const reason = rest.join(' ').trim();
  if (!reason) throw new Refusal('input', 'say why: the reason is announced to everyone');
  if (reason.length > MAINTENANCE_REASON_MAX)
    throw new Refusal('input', `the reason is at most ${MAINTENANCE_REASON_MAX} characters`);
  return { durationMs, reason, environment };
}
