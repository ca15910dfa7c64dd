/**
 * What `/azora` does with a parsed command: who may run it where, how often, whether Slack
 * sent it before (admit), and what it answers and queues (dispatch). The handler only
 * acknowledges and queues.
 */
import type { SlashCommand } from '@slack/bolt';
import type { z } from 'zod';
import { logsJob } from '../logs/contracts';
import { maintenanceCommandJob } from '../maintenance/contracts';
import { oncallJob } from '../oncall/contracts';
import { planRequestJob } from '../requests/contracts';
import { statusJob } from '../status/contracts';
import { releasesJob } from '../releases/contracts';
import { backupJob, backupsListJob } from '../backups/contracts';
import { incidentCommandJob } from '../incidents/contracts';
import type { Command, EnvironmentName } from './domain/types';
import { needsApproval } from '../requests/domain/guards';
import { checkCommandFits } from '../requests/domain/fit';
import { formatDuration } from '../kernel/domain/duration';
import type { CoreDeps } from '../deps';
import { refusalFor, slowDown, type Capability, type GateVerdict } from '../access';
import { code, md, note, type SlackMessage } from '../kernel/slack/blocks';
import { helpMessage } from './help';
import { DeadlineExceeded, withDeadline } from '../kernel/deadline';

type Ephemeral = SlackMessage & { response_type: 'ephemeral' };
const reply = (text: Parameters<typeof note>[0]): Ephemeral => ({
  response_type: 'ephemeral',
  ...note(text),
});

/** What a command answers at once, and the work it queues after answering. */
export interface Outcome {
  /** Absent for a replay: Slack gets an empty acknowledgement and nothing happens. */
  answer?: SlackMessage;
  /** The job, already validated: calling it only adds it to the queue. */
  queue?: () => Promise<unknown>;
  outcome?: 'refused' | 'replay' | 'limited' | 'unqueued';
}

export const UNQUEUED = reply(
  ':x: The bot cannot queue work right now (its Redis is unreachable). Nothing was changed; try again shortly.',
);
/** A queue add that has not answered yet: it may still land, so this says neither "queued" nor "not". */
export const QUEUE_LATE = reply(
  ":hourglass: The bot's Redis is slow to answer: this command is not queued yet. It runs if Redis takes it, and its replies follow then; check `/azora status` before typing it again.",
);
export const BROKEN = reply(
  ':x: The bot could not prepare this command (its log names the fault). Nothing was changed.',
);

/**
 * A command's checks run before Slack's answer, which Slack waits 3 s for: a Redis that
 * hangs rather than fails (a stopped process, a peer gone without a reset) must still
 * leave time to answer that the work cannot be queued, rather than Bolt's 404 at 3 s.
 */
export const GATE_DEADLINE_MS = 2_500;

/** A follow's slot is held this much past its end, so a slow worker's follow still counts. */
const FOLLOW_SLOT_MARGIN_MS = 60_000;

/** The environment a command acts on and what it takes there; none for help, oncall and window ids. */
function accessOf(command: Command): { environment: EnvironmentName; capability: Capability } | undefined {
  switch (command.verb) {
    case 'status':
    case 'logs':
    case 'releases':
    case 'backups':
      return { environment: command.environment, capability: 'view' };
    case 'scale':
    case 'switch':
    case 'rollback':
    case 'deploy':
    case 'backup':
    case 'restore':
      return { environment: command.environment, capability: 'request' };
    case 'maintenance':
      return command.action === 'schedule' || command.action === 'now'
        ? { environment: command.environment, capability: 'request' }
        : undefined;
    default:
      return undefined;
  }
}

/** What asks for a change counts against the change limit: what needs `request`, and every window action but `list`. */
const isChange = (command: Command): boolean =>
  accessOf(command)?.capability === 'request' ||
  (command.verb === 'maintenance' && command.action !== 'list');

/**
 * Access, replay and rate limits: an outcome when the command stops here, undefined when it
 * may go on. All of it runs before Slack's answer, within GATE_DEADLINE_MS: past it (a
 * Redis, or a Slack lookup, that hangs rather than fails) the answer is that no work can be
 * queued now, and a follow slot taken late is given back.
 */
export async function admit(
  command: Command,
  slash: SlashCommand,
  deps: CoreDeps,
): Promise<Outcome | undefined> {
  const pending = checks(command, slash, deps);
  try {
    return await withDeadline(pending, GATE_DEADLINE_MS, 'Redis or Slack');
  } catch (err) {
    if (!(err instanceof DeadlineExceeded)) throw err;
    // Checks that pass after the deadline took a follow slot, and no follow will run to give it back.
    if (command.verb === 'logs' && command.followMs) {
      pending
        .then((stop) => (stop ? undefined : deps.gate.releaseFollow(slash.user_id, slash.trigger_id)))
        .catch((e: unknown) =>
          deps.logger.warn({ err: (e as Error).message }, 'could not give a follow slot back'),
        );
    }
    deps.logger.error({ err: err.message }, 'could not check a command in time');
    return { answer: UNQUEUED, outcome: 'unqueued' };
  }
}

async function checks(command: Command, slash: SlashCommand, deps: CoreDeps): Promise<Outcome | undefined> {
  const ask = accessOf(command);
  if (ask) {
    const what = `/azora ${slash.text.trim()}`.slice(0, 200);
    const refusal = await refusalFor(deps, {
      ...ask,
      user: slash.user_id,
      channel: slash.channel_id,
      what,
    });
    if (refusal) return { answer: refusal, outcome: 'refused' };
  }
  const { limits } = deps.policy;
  let gate: GateVerdict;
  try {
    gate = await deps.gate.admit(`command:${slash.user_id}:${slash.trigger_id}`, slash.user_id, [
      { name: 'commands', perMinute: limits.commandsPerMinute },
      ...(isChange(command) ? [{ name: 'changes' as const, perMinute: limits.changesPerMinute }] : []),
    ]);
  } catch (err) {
    deps.logger.error({ err: (err as Error).message }, 'could not check a command against Redis');
    return { answer: UNQUEUED, outcome: 'unqueued' };
  }
  if (!gate.ok && gate.replay) {
    deps.metrics.replays.inc({ kind: 'command' });
    return { outcome: 'replay' };
  }
  if (!gate.ok) {
    deps.metrics.rateLimited.inc({ limit: gate.limit });
    return { answer: slowDown(gate.limit, gate.retryInMs), outcome: 'limited' };
  }
  if (command.verb === 'logs' && command.followMs) {
    const now = deps.now();
    const wait = await deps.gate.reserveFollow(
      slash.user_id,
      slash.trigger_id,
      now,
      now + command.followMs + FOLLOW_SLOT_MARGIN_MS,
      limits.followsAtOnce,
    );
    if (wait > 0) {
      deps.metrics.rateLimited.inc({ limit: 'follows' });
      return { answer: slowDown('follows', wait), outcome: 'limited' };
    }
  }
  return undefined;
}

export function dispatch(command: Command, slash: SlashCommand, deps: CoreDeps): Outcome {
  const { queues } = deps;
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
    case 'releases':
      return {
        answer: reply(`:hourglass: Reading the releases of ${command.environment}…`),
        queue: queues.prepare(releasesJob, {
          environment: command.environment,
          ...(command.service ? { service: command.service } : {}),
          responseUrl: slash.response_url,
        }),
      };
    case 'backup':
    case 'backups': {
      if (!deps.policy.backups[command.environment]) {
        const text = `:no_entry: ${command.environment} has no backups in the policy (\`backups.${command.environment}\`). Nothing was changed.`;
        return { answer: reply(text), outcome: 'refused' };
      }
      if (command.verb === 'backups')
        return {
          answer: reply(`:hourglass: Listing the backups of ${command.environment}…`),
          queue: queues.prepare(backupsListJob, {
            environment: command.environment,
            responseUrl: slash.response_url,
          }),
        };
      return {
        answer: reply(
          `:floppy_disk: Backing up the ${command.environment} database; the result will appear in a thread here.`,
        ),
        queue: queues.prepare(backupJob, {
          environment: command.environment,
          requester: slash.user_id,
          channel: slash.channel_id,
          responseUrl: slash.response_url,
          at: deps.now(),
          seed: slash.trigger_id,
        }),
      };
    }
    case 'incident': {
      const { verb: _verb, ...incident } = command;
      const doing: Record<typeof incident.action, string> = {
        declare: `:rotating_light: Declaring: opening the incident's channel…`,
        list: ':hourglass: Listing incidents…',
        timeline: ':hourglass: Reading the timeline…',
        note: ':hourglass: Noting…',
        status: ':hourglass: Updating the status…',
        commander: ':hourglass: Handing over command…',
        severity: ':hourglass: Changing the severity…',
        resolve: ':hourglass: Resolving and drafting the postmortem…',
      };
      return {
        answer: reply(doing[incident.action]),
        queue: queues.prepare(incidentCommandJob, {
          command: incident,
          requester: slash.user_id,
          channel: slash.channel_id,
          responseUrl: slash.response_url,
          seed: slash.trigger_id,
        }),
      };
    }
    case 'oncall':
      return {
        answer: reply(':hourglass: Asking PagerDuty who is on call…'),
        queue: queues.prepare(oncallJob, { responseUrl: slash.response_url }),
      };
    case 'maintenance':
      return maintenance(command, slash, deps);
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
      const fits = checkCommandFits(deps.policy, command);
      if (!fits.ok)
        return { answer: reply(`:no_entry: ${fits.reason}. Nothing was changed.`), outcome: 'refused' };
      return {
        answer: reply(md`:hourglass: Planning ${code(slash.text.trim())} against the live cluster…`),
        queue: planRequest(command, slash, deps),
      };
    }
  }
}

/** A change through the request path; Slack may deliver one command twice, so the trigger id makes the second add a no-op. */
function planRequest(
  command: z.input<typeof planRequestJob.payload>['command'],
  slash: SlashCommand,
  deps: CoreDeps,
): () => Promise<unknown> {
  return deps.queues.prepare(
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
  deps: CoreDeps,
): Outcome {
  const { queues, policy } = deps;
  const requester = slash.user_id;
  const responseUrl = slash.response_url;
  if (command.action === 'now' || command.action === 'schedule') {
    const { environment, durationMs, reason } = command;
    const start = command.action === 'now' ? deps.now() + 1_000 : command.start;
    const notice = start - deps.now();
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
          deps,
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
