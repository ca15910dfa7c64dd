import type { App } from '@slack/bolt';
import { parseCommand } from '../src/domain/commands/parse';
import type { Vocabulary } from '../src/domain/commands/types';
import type { Metrics } from '../src/metrics';
import { section } from '../src/views/blocks';
import { helpMessage, refusalMessage } from '../src/views/help';

export interface CommandDeps {
  vocabulary: Vocabulary;
  metrics: Metrics;
}

/** `/azora …`: parse, then answer within Slack's 3 s; anything slow goes to a queue. */
export function registerCommand(app: App, deps: CommandDeps): void {
  app.command('/azora', async ({ command, ack }) => {
    const parsed = parseCommand(command.text, deps.vocabulary);
    if (!parsed.ok) {
      deps.metrics.commands.inc({ verb: 'invalid', outcome: 'refused' });
      await ack({ response_type: 'ephemeral', ...refusalMessage(parsed.error, parsed.usage) });
      return;
    }
    const { verb } = parsed.command;
    deps.metrics.commands.inc({ verb, outcome: 'accepted' });
    if (parsed.command.verb === 'help') {
      await ack({ response_type: 'ephemeral', ...helpMessage(parsed.command.topic) });
      return;
    }
    await ack({
      response_type: 'ephemeral',
      text: `\`${verb}\` is understood but not enabled on this bot yet.`,
      blocks: [section(`\`${verb}\` is understood but not enabled on this bot yet.`)],
    });
  });
}
