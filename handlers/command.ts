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
import type { CoreServices } from '../src/services';
import { section, type SlackMessage } from '../src/views/blocks';
import { helpMessage, refusalMessage } from '../src/views/help';

const reply = (text: string): SlackMessage & { response_type: 'ephemeral' } => ({
  response_type: 'ephemeral',
  text,
  blocks: [section(text)],
});

/** What a command answers at once, and the work it queues after answering. */
interface Outcome {
  answer: SlackMessage;
  /** The job, already validated: calling it only adds it to the queue. */
  queue?: () => Promise<unknown>;
  refused?: true;
}

const UNQUEUED = reply(
  ':x: The bot cannot queue work right now (its Redis is unreachable). Nothing was changed; try again shortly.',
);
const BROKEN = reply(
  ':x: The bot could not prepare this command (its log names the fault). Nothing was changed.',
);

/**
 * `/azora …`: parse, refuse what is wrong, validate the job, acknowledge, then queue. Acknowledging first
 * keeps Slack's answer at the framework's own speed; if the queue cannot take the work,
 * the acknowledgement is replaced through the response_url by an honest refusal.
 */
export function registerCommand(app: App, services: CoreServices): void {
  const vocabulary = vocabularyOf(services.policy);
  app.command('/azora', async ({ command, ack }) => {
    const parsed = parseCommand(command.text, vocabulary);
    if (!parsed.ok) {
      services.metrics.commands.inc({ verb: 'invalid', outcome: 'refused' });
      await ack({ response_type: 'ephemeral', ...refusalMessage(parsed.error, parsed.usage) });
      return;
    }
    const { verb } = parsed.command;
    let planned: Outcome;
    try {
      planned = dispatch(parsed.command, command, services);
    } catch (err) {
      services.logger.error({ err: (err as Error).message, verb }, 'could not prepare a command');
      services.metrics.commands.inc({ verb, outcome: 'failed' });
      await ack(BROKEN);
      return;
    }
    await ack({ response_type: 'ephemeral', ...planned.answer });
    let outcome = planned.refused ? 'refused' : 'accepted';
    try {
      await planned.queue?.();
    } catch (err) {
      outcome = 'unqueued';
      services.logger.error({ err: (err as Error).message }, 'could not queue a command');
      await services.messenger
        .respond(command.response_url, { ...UNQUEUED, replace_original: true })
        .catch((e: unknown) => services.logger.warn({ err: (e as Error).message }, 'could not say so'));
    }
    services.metrics.commands.inc({ verb, outcome });
  });
}

function dispatch(command: Command, slash: SlashCommand, services: CoreServices): Outcome {
  const { queues } = services;
  switch (command.verb) {
    case 'help':
      return { answer: helpMessage(command.topic) };
    case 'status':
      return {
        answer: reply(`:hourglass: Reading ${command.environment}…`),
        queue: queues.prepare(statusJob, {
          environment: command.environment,
          responseUrl: slash.response_url,
        }),
      };
    case 'oncall':
      return {
        answer: reply(':hourglass: Asking PagerDuty who is on call…'),
        queue: queues.prepare(oncallJob, { responseUrl: slash.response_url }),
      };
    case 'maintenance':
      return maintenance(command, slash, services);
    case 'logs':
      return {
        answer: reply(
          `:hourglass: Fetching logs of ${command.service} in ${command.environment}; they will appear in a thread here.`,
        ),
        queue: queues.prepare(logsJob, {
          ...command,
          channel: slash.channel_id,
          requester: slash.user_id,
          responseUrl: slash.response_url,
        }),
      };
    default: {
      if (command.verb === 'scale') {
        const bounds = checkReplicaBounds(
          services.policy,
          command.environment,
          command.service,
          command.replicas,
        );
        if (!bounds.ok)
          return { answer: reply(`:no_entry: ${bounds.reason}. Nothing was changed.`), refused: true };
      }
      return {
        answer: reply(`:hourglass: Planning \`${slash.text.trim()}\` against the live cluster…`),
        // Slack may deliver one command twice; the trigger id makes the second add a no-op.
        queue: queues.prepare(
          planRequestJob,
          {
            command,
            requester: slash.user_id,
            channel: slash.channel_id,
            responseUrl: slash.response_url,
            source: 'command',
          },
          { jobId: `plan-${slash.trigger_id.replace(/[^A-Za-z0-9._-]/g, '_')}` },
        ),
      };
    }
  }
}

function maintenance(
  command: Extract<Command, { verb: 'maintenance' }>,
  slash: SlashCommand,
  services: CoreServices,
): Outcome {
  const { queues } = services;
  const requester = slash.user_id;
  const responseUrl = slash.response_url;
  if (command.action === 'now') {
    const { environment, durationMs, reason } = command;
    if (needsApproval(services.policy, environment)) {
      return {
        answer: reply(
          ':hourglass: Emergency maintenance in production needs an approver; posting the request…',
        ),
        queue: queues.prepare(planRequestJob, {
          command: { verb: 'maintenance', environment, durationMs, reason },
          requester,
          channel: slash.channel_id,
          responseUrl,
          source: 'command',
        }),
      };
    }
    const start = Date.now() + 1_000;
    return {
      answer: reply(`:construction: Starting emergency maintenance in ${environment}…`),
      queue: queues.prepare(maintenanceCommandJob, {
        command: { action: 'schedule', environment, start, durationMs, reason },
        requester,
        responseUrl,
      }),
    };
  }
  const { verb: _verb, ...job } = command;
  return {
    answer: reply(':hourglass: On it…'),
    queue: queues.prepare(maintenanceCommandJob, { command: job, requester, responseUrl }),
  };
}
