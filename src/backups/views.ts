import type { EnvironmentName } from '../kernel/domain/environment';
import { formatDuration } from '../kernel/domain/duration';
import {
  code,
  context,
  joinText,
  md,
  mention,
  message,
  note,
  section,
  SECTION_LIMIT,
  slackDate,
  type Mrkdwn,
  type SlackMessage,
} from '../kernel/slack/blocks';
import type { JobRun } from './run';
import type { BackupEntry } from './store';
import type { DatabaseJob } from '../kernel/domain/database-job';

/** Bytes as people read them. */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return 'size unknown';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

const who = (by: string) => (/^[UW][A-Z0-9]+$/.test(by) ? mention(by) : by);

/** The parent of a backup's thread, while it runs. */
export function backupStartedMessage(env: EnvironmentName, job: string, by: string): SlackMessage {
  return note(
    md`:floppy_disk: Backup of the ${env} database asked by ${who(by)}: running as Job ${code(job)}…`,
  );
}

/** How the backup went: Job name, duration, size, result. */
export function backupResultMessage(env: EnvironmentName, run: JobRun, by: string): SlackMessage {
  const took = formatDuration(run.durationMs);
  return run.ok
    ? note(
        md`:white_check_mark: Backup of the ${env} database by ${who(by)} done in ${took}: ${formatBytes(run.bytes)}${run.file ? md` in ${code(run.file)}` : ''} · Job ${code(run.job)}`,
      )
    : note(
        md`:x: Backup of the ${env} database by ${who(by)} failed after ${took}: ${run.reason ?? 'no reason given'} · Job ${code(run.job)}`,
      );
}

/** `/azora backups <env>`: the kept backups, newest first, from the Jobs and the index. */
export function backupListMessage(
  env: EnvironmentName,
  jobs: DatabaseJob[],
  index: BackupEntry[],
): SlackMessage {
  const byId = new Map(index.map((e) => [e.id, e]));
  const lines = jobs.map((job) => {
    const entry = byId.get(job.backupId);
    const state =
      job.status === 'succeeded'
        ? ':large_green_circle:'
        : job.status === 'failed'
          ? ':red_circle:'
          : ':hourglass:';
    const size = job.status === 'succeeded' ? ` · ${formatBytes(entry?.bytes)}` : '';
    const failed = job.status === 'failed' && entry?.reason ? md` · ${entry.reason}` : '';
    const by = entry ? md` · by ${who(entry.by)}` : '';
    return md`${state} ${code(job.backupId)} ${slackDate(job.createdAt)}${size}${by}${failed}`;
  });
  const text = `${jobs.length} backup${jobs.length === 1 ? '' : 's'} of the ${env} database`;
  // A section takes 3,000 characters, about 16 lines: the 30 the guide keeps need several.
  const sections: Mrkdwn[][] = [[]];
  let size = 0;
  for (const line of lines) {
    if (size + line.markup.length + 1 > SECTION_LIMIT - 100 && sections.at(-1)!.length > 0) {
      sections.push([]);
      size = 0;
    }
    sections.at(-1)!.push(line);
    size += line.markup.length + 1;
  }
  const [first = [], ...rest] = sections;
  return message(text, [
    section(md`*Backups of the ${env} database*\n${first.length ? joinText(first, '\n') : 'none yet'}`),
    ...rest.map((chunk) => section(joinText(chunk, '\n'))),
    context(md`Restore one with ${code(`/azora restore ${env} <id>`)}.`),
  ]);
}
