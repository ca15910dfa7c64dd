import type { App } from '@slack/bolt';
import { admit, BROKEN, dispatch, QUEUE_LATE, UNQUEUED, type Outcome } from '../src/commands/dispatch';
import { parseCommand } from '../src/commands/domain/parse';
import { vocabularyOf } from '../src/commands/domain/vocabulary';
import { refusalMessage } from '../src/commands/help';
import type { CoreDeps } from '../src/deps';
import { DeadlineExceeded, withDeadline } from '../src/kernel/deadline';
import { typedText } from '../src/kernel/slack/typed-text';

/** How long a queue add may take before the user hears that it has not landed yet. */
export const QUEUE_WAIT_MS = 5_000;

/**
 * `/azora …`: parse, check who may do it where, its rate and whether Slack sent it before,
 * validate the job, acknowledge, then queue. Acknowledging before queueing keeps Slack's
 * answer at the framework's own speed; if the queue cannot take the work, the
 * acknowledgement is replaced through the response_url by an honest refusal.
 */
export function registerCommand(app: App, deps: CoreDeps): void {
  const vocabulary = vocabularyOf(deps.policy);
  app.command('/azora', async ({ command: sent, ack }) => {
    const command = { ...sent, text: typedText(sent.text) };
    const parsed = parseCommand(command.text, vocabulary, deps.now());
    if (!parsed.ok) {
      deps.metrics.commands.inc({ verb: 'invalid', outcome: 'refused' });
      await ack({ response_type: 'ephemeral', ...refusalMessage(parsed.error, parsed.usage) });
      return;
    }
    const { verb } = parsed.command;
    let planned: Outcome;
    try {
      planned = (await admit(parsed.command, command, deps)) ?? dispatch(parsed.command, command, deps);
    } catch (err) {
      deps.logger.error({ err: (err as Error).message, verb }, 'could not prepare a command');
      deps.metrics.commands.inc({ verb, outcome: 'failed' });
      await ack(BROKEN);
      return;
    }
    await ack(planned.answer ? { response_type: 'ephemeral', ...planned.answer } : undefined);
    let outcome: string = planned.outcome ?? 'accepted';
    const say = (answer: typeof UNQUEUED) =>
      deps.messenger
        .respond(command.response_url, { ...answer, replace_original: true })
        .catch((e: unknown) => deps.logger.warn({ err: (e as Error).message }, 'could not say so'));
    const unqueued = async (err: unknown) => {
      deps.logger.error({ err: (err as Error).message }, 'could not queue a command');
      await say(UNQUEUED);
    };
    const queued = planned.queue?.();
    try {
      if (queued) await withDeadline(queued, QUEUE_WAIT_MS, 'Redis');
    } catch (err) {
      if (err instanceof DeadlineExceeded && queued) {
        // A Redis that hangs rather than fails: the add may still land, or fail later.
        outcome = 'late';
        deps.logger.warn({ verb }, 'a command is not queued yet: Redis is slow to answer');
        queued.catch(unqueued);
        await say(QUEUE_LATE);
      } else {
        outcome = 'unqueued';
        await unqueued(err);
      }
    }
    deps.metrics.commands.inc({ verb, outcome });
  });
}
