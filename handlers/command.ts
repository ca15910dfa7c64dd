import type { App, SlashCommand } from '@slack/bolt';
import type { z } from 'zod';
import { logsJob } from '../src/logs/contracts';
import { maintenanceCommandJob } from '../src/maintenance/contracts';
import { oncallJob } from '../src/oncall/contracts';
import { planRequestJob } from '../src/requests/contracts';
import { statusJob } from '../src/status/contracts';
import type { Capability } from '../src/access/domain/rules';
import { parseCommand } from '../src/commands/domain/parse';
import type { Command, EnvironmentName } from '../src/commands/domain/types';
import { checkReplicaBounds, needsApproval } from '../src/requests/domain/guards';
import { formatDuration } from '../src/kernel/domain/duration';
import { vocabularyOf } from '../src/commands/domain/vocabulary';
import { refusalFor } from '../src/access/check';
import type { CoreDeps } from '../src/deps';
import type { GateVerdict } from '../src/access/gate';
import { slowDown } from '../src/access/views';
import { code, md, note, type SlackMessage } from '../src/kernel/slack/blocks';
import { helpMessage, refusalMessage } from '../src/commands/help';

type Ephemeral = SlackMessage & { response_type: 'ephemeral' };
const reply = (text: Parameters<typeof note>[0]): Ephemeral => ({
  response_type: 'ephemeral',
  ...note(text),
});

/** What a command answers at once, and the work it queues after answering. */
interface Outcome {
  /** Absent for a replay: Slack gets an empty acknowledgement and nothing happens. */
  answer?: SlackMessage;
  /** The job, already validated: calling it only adds it to the queue. */
  queue?: () => Promise<unknown>;
  outcome?: 'refused' | 'replay' | 'limited' | 'unqueued';
}

const UNQUEUED = reply(
  ':x: The bot cannot queue work right now (its Redis is unreachable). Nothing was changed; try again shortly.',
);
const BROKEN = reply(
  ':x: The bot could not prepare this command (its log names the fault). Nothing was changed.',
);

/** A follow's slot is held this much past its end, so a slow worker's follow still counts. */
const FOLLOW_SLOT_MARGIN_MS = 60_000;

/**
 * `/azora …`: parse, check who may do it where, its rate and whether Slack sent it before,
 * validate the job, acknowledge, then queue. Acknowledging before queueing keeps Slack's
 * answer at the framework's own speed; if the queue cannot take the work, the
 * acknowledgement is replaced through the response_url by an honest refusal.
 */
export function registerCommand(app: App, services: CoreDeps): void {
  const vocabulary = vocabularyOf(services.policy);
  app.command('/azora', async ({ command, ack }) => {
    const parsed = parseCommand(command.text, vocabulary, services.now());
    if (!parsed.ok) {
      services.metrics.commands.inc({ verb: 'invalid', outcome: 'refused' });
      await ack({ response_type: 'ephemeral', ...refusalMessage(parsed.error, parsed.usage) });
      return;
    }
    const { verb } = parsed.command;
    let planned: Outcome;
    try {
      planned =
        (await admit(parsed.command, command, services)) ?? dispatch(parsed.command, command, services);
    } catch (err) {
      services.logger.error({ err: (err as Error).message, verb }, 'could not prepare a command');
      services.metrics.commands.inc({ verb, outcome: 'failed' });
      await ack(BROKEN);
      return;
    }
    await ack(planned.answer ? { response_type: 'ephemeral', ...planned.answer } : undefined);
    let outcome: string = planned.outcome ?? 'accepted';
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

/** The environment a command acts on and what it takes there; none for help, oncall and window ids. */
function accessOf(command: Command): { environment: EnvironmentName; capability: Capability } | undefined {
  switch (command.verb) {
    case 'status':
    case 'logs':
      return { environment: command.environment, capability: 'view' };
    case 'scale':
    case 'switch':
    case 'rollback':
      return { environment: command.environment, capability: 'request' };
    case 'maintenance':
      return command.action === 'schedule' || command.action === 'now'
        ? { environment: command.environment, capability: 'request' }
        : undefined;
    default:
      return undefined;
  }
}

const isChange = (command: Command): boolean =>
  ['scale', 'switch', 'rollback'].includes(command.verb) ||
  (command.verb === 'maintenance' && command.action !== 'list');

/** Access, replay and rate limits: an outcome when the command stops here, undefined when it may go on. */
async function admit(
  command: Command,
  slash: SlashCommand,
  services: CoreDeps,
): Promise<Outcome | undefined> {
  const ask = accessOf(command);
  if (ask) {
    const what = `/azora ${slash.text.trim()}`.slice(0, 200);
    const refusal = await refusalFor(services, {
      ...ask,
      user: slash.user_id,
      channel: slash.channel_id,
      what,
    });
    if (refusal) return { answer: refusal, outcome: 'refused' };
  }
  const { limits } = services.policy;
  let gate: GateVerdict;
  try {
    gate = await services.gate.admit(`command:${slash.user_id}:${slash.trigger_id}`, slash.user_id, [
      { name: 'commands', perMinute: limits.commandsPerMinute },
      ...(isChange(command) ? [{ name: 'changes' as const, perMinute: limits.changesPerMinute }] : []),
    ]);
  } catch (err) {
    services.logger.error({ err: (err as Error).message }, 'could not check a command against Redis');
    return { answer: UNQUEUED, outcome: 'unqueued' };
  }
  if (!gate.ok && gate.replay) {
    services.metrics.replays.inc({ kind: 'command' });
    return { outcome: 'replay' };
  }
  if (!gate.ok) {
    services.metrics.rateLimited.inc({ limit: gate.limit });
    return { answer: slowDown(gate.limit, gate.retryInMs), outcome: 'limited' };
  }
  if (command.verb === 'logs' && command.followMs) {
    const now = services.now();
    const wait = await services.gate.reserveFollow(
      slash.user_id,
      slash.trigger_id,
      now,
      now + command.followMs + FOLLOW_SLOT_MARGIN_MS,
      limits.followsAtOnce,
    );
    if (wait > 0) {
      services.metrics.rateLimited.inc({ limit: 'follows' });
      return { answer: slowDown('follows', wait), outcome: 'limited' };
    }
  }
  return undefined;
}

function dispatch(command: Command, slash: SlashCommand, services: CoreDeps): Outcome {
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
          ...(command.followMs ? { followSlot: slash.trigger_id } : {}),
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
          return { answer: reply(`:no_entry: ${bounds.reason}. Nothing was changed.`), outcome: 'refused' };
      }
      return {
        answer: reply(md`:hourglass: Planning ${code(slash.text.trim())} against the live cluster…`),
        queue: planRequest(command, slash, services),
      };
    }
  }
}

/** A change through the request path; Slack may deliver one command twice, so the trigger id makes the second add a no-op. */
function planRequest(
  command: z.input<typeof planRequestJob.payload>['command'],
  slash: SlashCommand,
  services: CoreDeps,
): () => Promise<unknown> {
  return services.queues.prepare(
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
}

function maintenance(
  command: Extract<Command, { verb: 'maintenance' }>,
  slash: SlashCommand,
  services: CoreDeps,
): Outcome {
  const { queues, policy } = services;
  const requester = slash.user_id;
  const responseUrl = slash.response_url;
  if (command.action === 'now' || command.action === 'schedule') {
    const { environment, durationMs, reason } = command;
    const start = command.action === 'now' ? services.now() + 1_000 : command.start;
    const notice = start - services.now();
    // The guide's notice: anything sooner in an approval environment is emergency maintenance.
    if (
      needsApproval(policy, environment) &&
      (command.action === 'now' || notice < policy.maintenance.minNotice)
    ) {
      const why =
        command.action === 'now'
          ? 'Emergency maintenance'
          : `Maintenance on less than ${formatDuration(policy.maintenance.minNotice)} notice`;
      return {
        answer: reply(`:hourglass: ${why} in ${environment} needs an approver; posting the request…`),
        queue: planRequest(
          command.action === 'now'
            ? { verb: 'maintenance', action: 'now', environment, durationMs, reason }
            : { verb: 'maintenance', action: 'schedule', environment, start, durationMs, reason },
          slash,
          services,
        ),
      };
    }
    return {
      answer: reply(
        command.action === 'now'
          ? `:construction: Starting emergency maintenance in ${environment}…`
          : ':hourglass: Scheduling…',
      ),
      queue: queues.prepare(maintenanceCommandJob, {
        command: { action: 'schedule', environment, start, durationMs, reason },
        requester,
        channel: slash.channel_id,
        responseUrl,
      }),
    };
  }
  const { verb: _verb, ...job } = command;
  return {
    answer: reply(':hourglass: On it…'),
    queue: queues.prepare(maintenanceCommandJob, {
      command: job,
      requester,
      channel: slash.channel_id,
      responseUrl,
    }),
  };
}
