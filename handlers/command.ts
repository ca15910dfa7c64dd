import type { App, SlashCommand } from '@slack/bolt';
import { logsJob } from '../jobs/logs';
import { maintenanceCommandJob } from '../jobs/maintenance-command';
import { oncallJob } from '../jobs/oncall';
import { planRequestJob } from '../jobs/plan-request';
import { statusJob } from '../jobs/status';
import { parseCommand } from '../src/domain/commands/parse';
import type { Command } from '../src/domain/commands/types';
import { checkReplicaBounds, needsApproval } from '../src/domain/requests/guards';
import { vocabularyOf } from '../src/domain/topology';
import type { Services } from '../src/services';
import { section, type SlackMessage } from '../src/views/blocks';
import { helpMessage, refusalMessage } from '../src/views/help';

const reply = (text: string): SlackMessage & { response_type: 'ephemeral' } => ({
  response_type: 'ephemeral',
  text,
  blocks: [section(text)],
});

/** `/azora …`: parse, refuse what is wrong at once, queue the rest, answer within Slack's 3 s. */
export function registerCommand(app: App, services: Services): void {
  const vocabulary = vocabularyOf(services.policy);
  app.command('/azora', async ({ command, ack }) => {
    const parsed = parseCommand(command.text, vocabulary);
    if (!parsed.ok) {
      services.metrics.commands.inc({ verb: 'invalid', outcome: 'refused' });
      await ack({ response_type: 'ephemeral', ...refusalMessage(parsed.error, parsed.usage) });
      return;
    }
    let answer: SlackMessage;
    try {
      answer = await dispatch(parsed.command, command, services);
    } catch (err) {
      services.logger.error({ err: (err as Error).message }, 'could not queue a command');
      answer = reply(
        ':x: The bot cannot queue work right now (its Redis is unreachable). Nothing was changed; try again shortly.',
      );
    }
    services.metrics.commands.inc({
      verb: parsed.command.verb,
      outcome: answer.text.startsWith(':no_entry') ? 'refused' : 'accepted',
    });
    await ack({ response_type: 'ephemeral', ...answer });
  });
}

async function dispatch(command: Command, slash: SlashCommand, services: Services): Promise<SlackMessage> {
  const { queues } = services;
  switch (command.verb) {
    case 'help':
      return helpMessage(command.topic);
    case 'status':
      await queues.enqueue(statusJob, { environment: command.environment, responseUrl: slash.response_url });
      return reply(`:hourglass: Reading ${command.environment}…`);
    case 'oncall':
      await queues.enqueue(oncallJob, { responseUrl: slash.response_url });
      return reply(':hourglass: Asking PagerDuty who is on call…');
    case 'maintenance': {
      if (command.action === 'now') {
        const { environment, durationMs, reason } = command;
        if (needsApproval(services.policy, environment)) {
          await queues.enqueue(planRequestJob, {
            command: { verb: 'maintenance', environment, durationMs, reason },
            requester: slash.user_id,
            channel: slash.channel_id,
            responseUrl: slash.response_url,
            source: 'command',
          });
          return reply(
            ':hourglass: Emergency maintenance in production needs an approver; posting the request…',
          );
        }
        const start = Date.now() + 1_000;
        await queues.enqueue(maintenanceCommandJob, {
          command: { action: 'schedule', environment, start, durationMs, reason },
          requester: slash.user_id,
          responseUrl: slash.response_url,
        });
        return reply(`:construction: Starting emergency maintenance in ${environment}…`);
      }
      const job =
        command.action === 'schedule'
          ? {
              action: 'schedule' as const,
              environment: command.environment,
              start: command.start,
              durationMs: command.durationMs,
              reason: command.reason,
            }
          : command.action === 'move'
            ? {
                action: 'move' as const,
                id: command.id,
                start: command.start,
                durationMs: command.durationMs,
              }
            : command.action === 'cancel'
              ? { action: 'cancel' as const, id: command.id }
              : { action: 'list' as const };
      await queues.enqueue(maintenanceCommandJob, {
        command: job,
        requester: slash.user_id,
        responseUrl: slash.response_url,
      });
      return reply(':hourglass: On it…');
    }
    case 'logs':
      await queues.enqueue(logsJob, {
        ...command,
        channel: slash.channel_id,
        requester: slash.user_id,
        responseUrl: slash.response_url,
      });
      return reply(
        `:hourglass: Fetching logs of ${command.service} in ${command.environment}; they will appear in a thread here.`,
      );
    default: {
      if (command.verb === 'scale') {
        const bounds = checkReplicaBounds(
          services.policy,
          command.environment,
          command.service,
          command.replicas,
        );
        if (!bounds.ok) return reply(`:no_entry: ${bounds.reason}. Nothing was changed.`);
      }
      // Slack may deliver one command twice; the trigger id makes the second add a no-op.
      await queues.enqueue(
        planRequestJob,
        {
          command,
          requester: slash.user_id,
          channel: slash.channel_id,
          responseUrl: slash.response_url,
          source: 'command',
        },
        { jobId: `plan-${slash.trigger_id.replace(/[^A-Za-z0-9._-]/g, '_')}` },
      );
      return reply(`:hourglass: Planning \`${slash.text.trim()}\` against the live cluster…`);
    }
  }
}
