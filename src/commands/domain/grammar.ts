import { backupVerb, backupsVerb, restoreVerb } from '../../backups/domain/verbs';
import { incidentVerb } from '../../incidents/domain/verbs';
import { logsVerb } from '../../logs/domain/verbs';
import { maintenanceVerb } from '../../maintenance/domain/verbs';
import { oncallVerb } from '../../oncall/domain/verbs';
import { deployVerb, releasesVerb } from '../../releases/domain/verbs';
import { rollbackVerb, scaleVerb, switchVerb } from '../../requests/domain/verbs';
import { statusVerb } from '../../status/domain/verbs';
import type { VerbSpec } from './words';

export { Words, type VerbSpec } from './words';

const helpVerb: VerbSpec = {
  verb: 'help',
  usage: 'help [verb]',
  summary: 'this help, or the details of one verb',
  examples: ['/azora help', '/azora help scale'],
  parse: (w) => {
    const topic = w.next()?.toLowerCase();
    w.done();
    return topic ? { verb: 'help', topic } : { verb: 'help' };
  },
};

/**
 * The one table of `/azora` verbs: the parser, the help text and the error replies all
 * come from it, so a verb cannot be documented one way and parsed another. Each use case
 * declares its verbs beside its own domain; the order here is the help's.
 */
export const VERBS: readonly VerbSpec[] = [
  helpVerb,
  statusVerb,
  scaleVerb,
  switchVerb,
  rollbackVerb,
  deployVerb,
  releasesVerb,
  backupVerb,
  backupsVerb,
  restoreVerb,
  logsVerb,
  maintenanceVerb,
  incidentVerb,
  oncallVerb,
];

export function findVerb(name: string): VerbSpec | undefined {
  const lower = name.toLowerCase();
  return VERBS.find((spec) => spec.verb === lower);
}
