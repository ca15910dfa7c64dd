import type { Deps } from '../deps';
import { pagerDutyKey } from '../alerts/domain/group';
import { incidentPagerDutyNoteJob } from './contracts';
import { pagerDutyEventJob } from '../alerts/contracts';
import { PagerDutyError } from '../kernel/pagerduty/errors';
import { code, md, note, type SlackMessage } from '../kernel/slack/blocks';
import { slackError } from '../kernel/slack/errors';
import { show } from './run';
import {
  channelUrl,
  escalationPoliciesFor,
  incidentPageKey,
  pagesPagerDuty,
  severityLabel,
  type Incident,
} from './domain/incident';

/**
 * Who is on call now for the incident's services (the policy's escalation policies, first
 * level), matched to Slack users by e-mail. Those PagerDuty knows but Slack does not are
 * named, not dropped: the channel says whom to reach another way.
 */
export async function onCallForIncident(
  deps: Deps,
  incident: Incident,
): Promise<{ users: string[]; unmatched: string[]; skipped?: string }> {
  if (!deps.pagerduty.restEnabled) return { users: [], unmatched: [], skipped: 'no PagerDuty API token' };
  const policies = escalationPoliciesFor(deps.policy.incidents, incident.services);
  if (policies.length === 0)
    return { users: [], unmatched: [], skipped: 'no escalation policy in the policy for its services' };
  const oncall = (await deps.pagerduty.oncall()).filter(
    (o) => o.level === 1 && policies.includes(o.escalationPolicyId),
  );
  const users: string[] = [];
  const unmatched: string[] = [];
  for (const person of oncall) {
    if (!person.email) {
      unmatched.push(`${person.user} (no e-mail in PagerDuty)`);
      continue;
    }
    try {
      const email = person.email;
      const found = await deps.outbox.paced('users.lookupByEmail', undefined, () =>
        deps.slack.users.lookupByEmail({ email }),
      );
      if (found.user?.id) users.push(found.user.id);
      else unmatched.push(`${person.user} <${person.email}>`);
    } catch (err) {
      if (slackError(err) !== 'users_not_found') throw err;
      unmatched.push(`${person.user} <${person.email}>`);
    }
  }
  return { users: [...new Set(users)], unmatched };
}

/**
 * The PagerDuty incident of a sev1 or sev2: the alert's own when it came from one (same
 * dedup key), else a new one. A PagerDuty that does not answer now is asked again by the
 * retried event job, and the channel says so; one that refuses the page (a wrong routing
 * key) is said in the channel at once, and nothing is paged.
 */
export async function pageForIncident(
  deps: Deps,
  incident: Incident,
  alertDedupKey: string | undefined,
  channelUrl: string,
): Promise<string | undefined> {
  if (!deps.pagerduty.enabled || !pagesPagerDuty(deps.policy.incidents, incident.severity)) return undefined;
  const page = {
    dedupKey: alertDedupKey ?? incidentPageKey(incident.id),
    summary: `${severityLabel(incident.severity)}: ${incident.title}`,
    source: [incident.services.join(','), incident.environment].filter(Boolean).join('/') || 'azora',
    severity: incident.severity === 'sev1' ? ('critical' as const) : ('error' as const),
    details: { incident: incident.id, slack_channel: incident.channelName, commander: incident.commander },
    links: [{ href: channelUrl, text: `Slack #${incident.channelName}` }],
  };
  try {
    await deps.pagerduty.trigger(page);
  } catch (err) {
    const why = (err as Error).message;
    if (err instanceof PagerDutyError && !err.transient) {
      await tellPageFailed(deps, incident, why);
      return undefined;
    }
    await deps.queues.enqueue(
      pagerDutyEventJob,
      { action: 'trigger', ...page, incident: incident.id },
      { jobId: `pd-page-${incident.id}` },
    );
    await say(deps, incident.channel, pageDelayedMessage(why));
  }
  return page.dedupKey;
}

const pageDelayedMessage = (why: string): SlackMessage =>
  note(
    md`:hourglass: PagerDuty did not take the page yet (${why}); the bot keeps trying. ${code('/azora oncall')} says who is on call.`,
  );

/** Said in the incident's channel when its page never went: on-call is not paged. */
export async function tellPageFailed(deps: Deps, incident: Incident | string, why: string): Promise<void> {
  const found = typeof incident === 'string' ? await deps.incidents.get(incident) : incident;
  if (!found) return;
  const failed = note(
    md`:rotating_light: PagerDuty did not take the page: ${why}. On-call is *not* paged: reach them another way (${code('/azora oncall')}).`,
  );
  await say(deps, found.channel, failed);
}

/** A line in the channel that must not fail what it reports on (a declaration, a page's job). */
async function say(deps: Deps, channel: string, message: SlackMessage): Promise<void> {
  await deps.outbox
    .paced('chat.postMessage', channel, () => deps.messenger.post(channel, message))
    .catch((err: unknown) =>
      deps.logger.warn(
        { channel, err: slackError(err) ?? (err as Error).message },
        'could not say it in the channel',
      ),
    );
}

/** Said in the channel when some of those on call could not be invited. */
export function unmatchedMessage(unmatched: string[]): SlackMessage {
  return note(
    md`:warning: On call in PagerDuty but not found in Slack by e-mail, so not invited: ${unmatched.join(', ')}. Reach them another way.`,
  );
}

export const skippedOnCallMessage = (why: string): SlackMessage =>
  note(
    md`:information_source: Nobody from PagerDuty was invited: ${why}. ${code('/azora oncall')} says who is on call.`,
  );

export type PagerDutyNote = 'noted' | 'already' | 'not-made-yet' | 'no-rest-api';

/**
 * The incident channel's link as a note on its PagerDuty incident, and that incident's page
 * linked from the pinned summary. The Events API gives only a dedup key, and PagerDuty makes
 * the incident after accepting the event: until it has, the answer is `not-made-yet`.
 */
export async function notePagerDuty(deps: Deps, incidentId: string): Promise<PagerDutyNote> {
  const incident = await deps.incidents.get(incidentId);
  const paged = incident?.pagerduty;
  if (!incident || !paged || paged.incidentId) return 'already';
  if (!deps.pagerduty.restEnabled) return 'no-rest-api';
  const found = await deps.pagerduty.openIncident(paged.id);
  if (!found) return 'not-made-yet';
  const link = channelUrl(incident.channel);
  await deps.pagerduty.addNote(
    found.id,
    `Incident channel in Slack: #${incident.channelName} (${link}). Commander and timeline are there.`,
  );
  const changed = await deps.incidents.change<boolean>(incidentId, (current) => ({
    next: {
      ...current,
      pagerduty: { id: paged.id, incidentId: found.id, ...(found.url ? { url: found.url } : {}) },
    },
    verdict: true,
  }));
  if (changed?.incident) await show(deps, changed.incident, incident);
  return 'noted';
}

/** Said in the channel when PagerDuty never made the incident the channel was to be noted on. */
export const pagerDutyNoteMissing = (why: string): SlackMessage =>
  note(md`:warning: The channel's link was not added to the PagerDuty incident: ${why}.`);

/**
 * A severity raised into one that pages (sev3 → sev1) pages as a declaration of that
 * severity does, once: the incident keeps the page's key, and the pinned summary links it.
 */
export async function pageIfRaised(deps: Deps, incident: Incident): Promise<Incident> {
  if (incident.pagerduty || !pagesPagerDuty(deps.policy.incidents, incident.severity)) return incident;
  // Declared from an alert: the alert's own PagerDuty incident, as a declaration would.
  const group = incident.alertGroups[0] ? await deps.alerts.get(incident.alertGroups[0]) : undefined;
  const key = await pageForIncident(
    deps,
    incident,
    group ? pagerDutyKey(group) : undefined,
    channelUrl(incident.channel),
  );
  if (!key) return incident;
  if (deps.pagerduty.restEnabled)
    await deps.queues.enqueue(
      incidentPagerDutyNoteJob,
      { incidentId: incident.id },
      { jobId: `pd-note-${incident.id}` },
    );
  const changed = await deps.incidents.change(incident.id, (current) => ({
    ...(current.pagerduty ? {} : { next: { ...current, pagerduty: { id: key } } }),
    verdict: null,
  }));
  const paged = changed?.incident ?? incident;
  await show(deps, paged, incident);
  return paged;
}
