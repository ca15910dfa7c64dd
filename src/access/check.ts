import { channelsOf, checkChannel, type Capability } from './domain/rules';
import type { EnvironmentName } from '../commands/domain/types';
import type { CoreDeps } from '../deps';
import { accessRefusal, channelRefusal } from './views';
import type { SlackMessage } from '../kernel/slack/blocks';

export interface AccessAsk {
  environment: EnvironmentName;
  capability: Capability;
  user: string;
  /** Where a command was typed: checked against the environment's channels. Clicks have none. */
  channel?: string;
  /** What was tried, for the audit trail. */
  what: string;
}

/**
 * The one place a person's right to act is decided, for commands, clicks and jobs alike:
 * undefined when allowed, else the ephemeral refusal to show. Every refusal is audited.
 */
export async function refusalFor(deps: CoreDeps, ask: AccessAsk): Promise<SlackMessage | undefined> {
  const { policy } = deps;
  let where =
    ask.channel === undefined ? { ok: true as const } : checkChannel(policy, ask.environment, ask.channel);
  // An open incident's channel takes the commands of its environment (or of any, when it
  // names none) as the ops channel does; who may do what is still the policy's.
  if (!where.ok && ask.channel && (await incidentChannelOf(deps, ask.channel, ask.environment)))
    where = { ok: true as const };
  const verdict = where.ok ? await deps.access.check(ask.environment, ask.capability, ask.user) : where;
  if (verdict.ok) return undefined;
  deps.metrics.refusals.inc({ reason: where.ok ? ask.capability : 'channel' });
  await deps.audit.record({
    type: 'access-refused',
    actor: ask.user,
    environment: ask.environment,
    detail: `${ask.what}: ${verdict.reason}`,
  });
  if (where.ok) return accessRefusal(verdict);
  const channels = channelsOf(policy, ask.environment);
  return channelRefusal(verdict, channels === 'any' ? [] : channels);
}

/**
 * The same for a click on an alert thread: an alert that names no environment is answered
 * only by those allowed in every one of them.
 */
export async function refusalForAlert(
  deps: CoreDeps,
  alert: { environment?: EnvironmentName },
  ask: Omit<AccessAsk, 'environment' | 'channel'>,
): Promise<SlackMessage | undefined> {
  const environments = alert.environment
    ? [alert.environment]
    : (Object.keys(deps.policy.environments) as EnvironmentName[]);
  for (const environment of environments) {
    const refusal = await refusalFor(deps, { ...ask, environment });
    if (refusal) return refusal;
  }
  return undefined;
}

async function incidentChannelOf(
  deps: CoreDeps,
  channel: string,
  environment: EnvironmentName,
): Promise<boolean> {
  const incident = await deps.incidents.ofChannel(channel);
  return (
    incident !== undefined &&
    incident.status !== 'resolved' &&
    (incident.environment === undefined || incident.environment === environment)
  );
}
