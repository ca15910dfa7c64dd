import { createHash } from 'node:crypto';
import type { Deps } from '../deps';
import type { IncidentSeverity } from '../config/policy';
import { Refusal } from '../kernel/domain/refusal';
import type { EnvironmentName } from '../kernel/domain/environment';
import { channelName } from './domain/channel';
import { channelUrl, type Incident } from './domain/incident';
import { declareIncident } from './domain/lifecycle';
import { topicText } from './domain/summary';
import { summaryMessage } from './views';
import { slackError } from '../kernel/slack/errors';
import { onCallForIncident, pageForIncident, skippedOnCallMessage, unmatchedMessage } from './responders';
import { pagerDutyKey, type AlertGroup } from '../alerts/domain/group';
import { incidentPagerDutyNoteJob } from './contracts';

const CREATE_ATTEMPTS = 5;

export interface DeclareInput {
  severity: IncidentSeverity;
  title: string;
  requester: string;
  /** Fixes the incident's id: a retried job finds what it made. */
  seed: string;
  alertGroup?: string;
}

/**
 * A new incident: its channel (named by the policy's pattern, the next free name when one
 * is taken), topic, the declarer and the policy's responders invited, the summary posted
 * and pinned, then stored. What fails after the channel exists and before the incident
 * is stored archives it again, so nothing is left half-made.
 */
export async function declare(
  deps: Deps,
  input: DeclareInput,
): Promise<{ incident: Incident; created: boolean }> {
  const id = `i${createHash('sha256').update(input.seed).digest('hex').slice(0, 8)}`;
  const existing = await deps.incidents.get(id);
  if (existing) return { incident: existing, created: false };
  if (input.alertGroup) {
    let holder = await deps.incidents.claimGroup(input.alertGroup, id);
    let first = holder !== id ? await deps.incidents.get(holder) : undefined;
    // Its alert fired again after that incident was resolved (resolved is final): a new one.
    if (first?.status === 'resolved') {
      holder = await deps.incidents.takeGroupOver(input.alertGroup, holder, id);
      first = holder !== id ? await deps.incidents.get(holder) : undefined;
    }
    if (first) return { incident: first, created: false };
  }
  const policy = deps.policy.incidents;
  const at = deps.now();
  const taken = new Set<string>();
  let channel: { id: string; name: string } | undefined;
  for (let attempt = 0; attempt < CREATE_ATTEMPTS && !channel; attempt++) {
    // The last try is a name of this incident's own: declaring never fails for a name
    // (a team declaring in a script Slack cannot spell gets `incident` every time).
    const last = attempt === CREATE_ATTEMPTS - 1;
    const name = channelName(
      policy.channelPattern,
      at,
      input.title,
      (n) => taken.has(n),
      last ? id.slice(1) : undefined,
    );
    try {
      const created = await deps.outbox.paced('conversations.create', undefined, () =>
        deps.slack.conversations.create({ name }),
      );
      channel = { id: created.channel!.id!, name };
    } catch (err) {
      const code = slackError(err);
      if (code === 'name_taken') taken.add(name);
      else if (code === 'restricted_action')
        throw new Refusal(
          'guard',
          'this workspace does not let the bot create channels; an admin can allow it (channel management permissions)',
        );
      else throw err;
    }
  }
  if (!channel) throw new Refusal('guard', `every channel name tried was taken (${[...taken].join(', ')})`);

  // Until the incident is stored, a failure leaves nothing behind: its channel is archived.
  let stored: Incident | undefined;
  try {
    const group = input.alertGroup ? await deps.alerts.get(input.alertGroup) : undefined;
    const scope = scopeOf(deps, input, group);
    const { incident, entry } = declareIncident({
      id,
      title: input.title,
      severity: input.severity,
      ...scope,
      channel: channel.id,
      channelName: channel.name,
      declaredBy: input.requester,
      at,
      ...(input.alertGroup ? { alertGroup: input.alertGroup } : {}),
      ...(group ? { alertOpenedAt: group.openedAt } : {}),
    });
    const channelId = channel.id;
    const inChannel = <T>(method: string, call: () => Promise<T>) =>
      deps.outbox.paced(method, channelId, call);
    await inChannel('conversations.setTopic', () =>
      deps.slack.conversations.setTopic({ channel: channelId, topic: topicText(incident) }),
    );
    const oncall = await onCallForIncident(deps, incident).catch((err: Error) => ({
      users: [] as string[],
      unmatched: [] as string[],
      skipped: `PagerDuty did not answer (${err.message})`,
    }));
    const people = [
      ...new Set([input.requester, ...(await respondersOf(deps, policy.responders, id)), ...oncall.users]),
    ];
    await inChannel('conversations.invite', () =>
      deps.slack.conversations.invite({ channel: channelId, users: people.join(','), force: true }),
    ).catch((err: unknown) => {
      // One person who cannot be invited (deactivated, already there) must not stop the rest.
      deps.logger.warn(
        { incident: id, err: slackError(err) ?? (err as Error).message },
        'some responders were not invited',
      );
    });
    const posted = await inChannel('chat.postMessage', () =>
      deps.slack.chat.postMessage({ channel: channelId, ...summaryMessage(incident) }),
    );
    await inChannel('pins.add', () => deps.slack.pins.add({ channel: channelId, timestamp: posted.ts! }));
    if (oncall.unmatched.length)
      await inChannel('chat.postMessage', () =>
        deps.messenger.post(channelId, unmatchedMessage(oncall.unmatched)),
      );
    if ('skipped' in oncall && oncall.skipped) {
      const skipped = skippedOnCallMessage(oncall.skipped);
      await inChannel('chat.postMessage', () => deps.messenger.post(channelId, skipped));
    }
    const paged = await pageForIncident(
      deps,
      incident,
      group ? pagerDutyKey(group) : undefined,
      channelUrl(channel.id),
    );
    const declared: Incident = {
      ...incident,
      summaryTs: posted.ts!,
      ...(paged ? { pagerduty: { id: paged } } : {}),
    };
    await deps.incidents.create(declared, entry);
    stored = declared;
    if (paged && deps.pagerduty.restEnabled)
      await deps.queues.enqueue(incidentPagerDutyNoteJob, { incidentId: id }, { jobId: `pd-note-${id}` });
    if (paged)
      await inChannel('chat.update', () =>
        deps.slack.chat.update({ channel: channelId, ts: posted.ts!, ...summaryMessage(declared) }),
      );
    await deps.audit.record({
      type: 'incident-declared',
      actor: input.requester,
      detail: `${id} ${input.severity}: ${incident.title}`,
    });
    return { incident: declared, created: true };
  } catch (err) {
    // Once stored (and maybe paged, the page linking the channel) it is a live incident:
    // whatever failed after that must not take its channel away.
    if (!stored) await deps.slack.conversations.archive({ channel: channel.id }).catch(() => undefined);
    throw err;
  }
}

const ENVIRONMENT_WORDS: Readonly<Record<string, EnvironmentName>> = {
  production: 'production',
  prod: 'production',
  staging: 'staging',
  stg: 'staging',
};

/**
 * What the incident is about, so that its timeline takes the bot's events: the alert's
 * environment and service when declared from one; otherwise the services and environment
 * its title names ("payment errors in production"), production when only services are
 * named. A title naming neither takes only what is linked to it.
 */
function scopeOf(
  deps: Deps,
  input: DeclareInput,
  group: AlertGroup | undefined,
): { environment?: EnvironmentName; services?: string[] } {
  if (input.alertGroup) {
    return {
      ...(group?.environment ? { environment: group.environment } : {}),
      ...(group?.service ? { services: [group.service] } : {}),
    };
  }
  const words = input.title.toLowerCase().split(/[^a-z0-9-]+/);
  const services = Object.keys(deps.policy.services).filter((name) => words.includes(name));
  const named = words.map((w) => ENVIRONMENT_WORDS[w]).find((env) => env !== undefined);
  const environment =
    named ?? (services.length > 0 && deps.policy.environments.production ? 'production' : undefined);
  return { ...(environment ? { environment } : {}), ...(services.length ? { services } : {}) };
}

/**
 * The policy's responders as people: a user group (S…) stands for its members. A group
 * Slack will not list (no `usergroups:read`, deleted) is logged and left out, so the
 * others are still invited.
 */
async function respondersOf(deps: Deps, responders: readonly string[], incident: string): Promise<string[]> {
  const people = responders.filter((r) => !r.startsWith('S'));
  for (const group of responders.filter((r) => r.startsWith('S'))) {
    try {
      people.push(...(await deps.access.members(group)));
    } catch (err) {
      deps.logger.warn(
        { incident, group, err: slackError(err) ?? (err as Error).message },
        'a responders group could not be listed; its members were not invited',
      );
    }
  }
  return people;
}
