import { defineJob } from '../src/deps';
import { backupJob } from '../src/backups/contracts';
import { backupIdOf, lockedBackup } from '../src/backups/run';
import { backupResultMessage, backupStartedMessage } from '../src/backups/views';
import { md, note } from '../src/kernel/slack/blocks';

/**
 * `/azora backup <env>`: a backup Job now, told in a thread where it was asked. The thread
 * is the outbox's, keyed by the backup: a worker that takes the job over after another
 * died mid-backup (a deploy of the bot) goes on in the same thread, not a second one.
 */
export const backupProcessor = defineJob(backupJob, async (payload, ctx) => {
  const { environment: env, requester, channel, responseUrl, at, seed } = payload;
  const name = backupIdOf(env, { seed, at });
  const parent = `backup-${name}`;
  await ctx.outbox.put(channel, parent, backupStartedMessage(env, name, requester));
  const { run, busy } = await lockedBackup(ctx, env, requester, { seed, at });
  if (busy && responseUrl)
    await ctx.messenger.respond(
      responseUrl,
      note(md`:no_entry: not backing up ${env} now: the database is busy with ${busy}`),
    );
  // The parent says how it ended; the reply in its thread notifies whoever follows it.
  const result = backupResultMessage(env, run, requester);
  await ctx.outbox.put(channel, parent, result);
  await ctx.outbox.reply(channel, parent, result, `${name}-result`);
  await ctx.audit.record({
    type: run.ok ? 'backup-succeeded' : 'backup-failed',
    actor: requester,
    environment: env,
    detail: run.ok ? `${name}: ${run.bytes ?? '?'} bytes` : `${name}: ${run.reason ?? ''}`,
  });
  return { backup: name, ok: run.ok };
});
