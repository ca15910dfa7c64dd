import { Refusal } from '../../kernel/domain/refusal';
import type { VerbSpec } from '../../commands/domain/words';

/** The verbs of the database: back up, list, restore. */
export const backupVerb: VerbSpec = {
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
};

export const backupsVerb: VerbSpec = {
  verb: 'backups',
  usage: 'backups <environment>',
  summary: 'the backups kept: id, when, size, who asked',
  examples: ['/azora backups production'],
  parse: (w) => {
    const environment = w.environment();
    w.done();
    return { verb: 'backups', environment };
  },
};

export const restoreVerb: VerbSpec = {
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
};
