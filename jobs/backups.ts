import { defineJob } from '../src/deps';
import { backupsListJob } from '../src/backups/contracts';
import { backupListMessage } from '../src/backups/views';
import { md, note } from '../src/kernel/slack/blocks';

/** `/azora backups <env>`: the bot's backup Jobs, with the sizes their reports gave. */
export const backupsListProcessor = defineJob(backupsListJob, async ({ environment, responseUrl }, ctx) => {
  try {
    const [jobs, index] = await Promise.all([
      ctx.kube.listJobs(environment, 'backup'),
      ctx.backups.all(environment),
    ]);
    await ctx.messenger.respond(responseUrl, backupListMessage(environment, jobs, index));
    return { backups: jobs.length };
  } catch (err) {
    const reason = (err as Error).message;
    await ctx.messenger.respond(
      responseUrl,
      note(md`:x: could not list the backups of ${environment}: ${reason}`),
    );
    return { error: reason };
  }
});
