import type { CoreDeps, Deps } from '../deps';
import { pagerDutyEventJob } from '../alerts/contracts';
import { Refusal } from '../kernel/domain/refusal';
import { md, mention } from '../kernel/slack/blocks';
import type { IncidentSeverity } from '../config/policy';
import { incidentPageKey, type Incident, type IncidentStatus } from './domain/incident';
import {
  changeCommander,
  changeSeverity,
  changeStatus,
  checkNote,
  resolveIncident,
  type Change,
} from './domain/lifecycle';
import { metrics } from './domain/metrics';
import { postmortemMarkdown } from './domain/postmortem';
import { topicText } from './domain/summary';
import { incidentLine, resolvedLine, shownText, summaryMessage } from './views';

/** Whether Slack says the channel is archived (an incident's channel someone closed). */
export async function channelArchived(
  deps: Pick<CoreDeps, 'outbox' | 'slack'>,
  channel: string,
): Promise<boolean> {
  const info = await deps.outbox.paced('conversations.info', undefined, () =>
    deps.slack.conversations.info({ channel }),
  );
  return info.channel?.is_archived === true;
}

/** The incident a command typed in `channel` is about: commands that run one work in its channel. */
export async function incidentOfChannel(deps: Deps, channel: string): Promise<Incident> {
  const incident = await deps.incidents.ofChannel(channel);
  if (!incident)
    throw new Refusal('input', "run this in the incident's channel (`/azora incident list` names them)");
  // Someone archived it: refused before anything changes, rather than half done where nobody reads.
  if (await channelArchived(deps, channel))
    throw new Refusal(
      'guard',
      "the incident's channel is archived: unarchive it in Slack to go on; nothing was changed",
    );
  return incident;
}

/**
 * Topic and pinned summary follow the incident, each on its own: Slack refusing one keeps
 * neither the other nor the change from being made. The topic is set only when it reads
 * differently from `before`'s: Slack says every setting in the channel.
 */
export async function show(deps: CoreDeps, incident: Incident, before?: Incident): Promise<void> {
  const { channel, summaryTs } = incident;
  const refresh = async (what: string, call: () => Promise<unknown>) => {
    try {
      await call();
    } catch (err) {
      deps.logger.warn(
        { incident: incident.id, err: (err as Error).message },
        `could not refresh the ${what}`,
      );
    }
  };
  const topic = topicText(incident);
  if (!before || topicText(before) !== topic)
    await refresh('incident topic', () =>
      deps.outbox.paced('conversations.setTopic', channel, () =>
        deps.slack.conversations.setTopic({ channel, topic }),
      ),
    );
  if (summaryTs)
    await refresh('pinned incident summary', () =>
      deps.outbox.paced('chat.update', channel, () =>
        deps.slack.chat.update({ channel, ts: summaryTs, ...summaryMessage(incident) }),
      ),
    );
}

export type Update =
  | { kind: 'status'; status: Exclude<IncidentStatus, 'resolved'> }
  | { kind: 'severity'; severity: IncidentSeverity }
  | { kind: 'commander'; user: string };

/** A status, severity or commander change: applied once, in the timeline, topic and summary, said in the channel. */
export async function update(
  deps: CoreDeps,
  incident: Incident,
  change: Update,
  actor: string,
): Promise<Incident> {
  const at = deps.now();
  const decide = (current: Incident): Change =>
    change.kind === 'status'
      ? changeStatus(current, change.status, actor, at)
      : change.kind === 'severity'
        ? changeSeverity(current, change.severity, actor, at)
        : changeCommander(current, change.user, actor, at);
  const result = await deps.incidents.change<Change>(incident.id, (current) => {
    const decided = decide(current);
    return decided.ok
      ? { next: decided.incident, entry: decided.entry, verdict: decided }
      : { verdict: decided };
  });
  if (!result) throw new Refusal('input', 'this incident is not known (any more)');
  if (!result.verdict.ok) throw new Refusal('guard', result.verdict.reason);
  const updated = result.verdict.incident;
  const { entry } = result.verdict;
  await show(deps, updated);
  // The new commander answers for the incident: they must be able to read its channel.
  if (change.kind === 'commander') {
    await deps.outbox
      .paced('conversations.invite', updated.channel, () =>
        deps.slack.conversations.invite({ channel: updated.channel, users: change.user, force: true }),
      )
      .catch((err: Error) =>
        deps.logger.warn({ incident: updated.id, err: err.message }, 'could not invite the new commander'),
      );
  }
  // Through the outbox, keyed by the change: the change is made, so a Slack failing now
  // delays its line rather than failing the command (whose retry would find it made).
  // Two people can make the same kind of change in one millisecond: the key names who.
  await deps.outbox.put(
    updated.channel,
    `incident-${updated.id}-${entry.kind}-${entry.at}-${actor}`,
    incidentLine(md`:memo: ${mention(actor)}: ${shownText(entry)}`),
  );
  return updated;
}

/** A note in the timeline; `key` (the command's job) keeps a retried job from adding it twice. */
export async function addNote(
  deps: Pick<Deps, 'incidents' | 'now'>,
  incident: Incident,
  text: string,
  actor: string,
  key: string,
): Promise<void> {
  const allowed = checkNote(incident);
  if (!allowed.ok) throw new Refusal('guard', allowed.reason);
  await deps.incidents.append(incident.id, {
    at: deps.now(),
    actor,
    kind: 'note',
    text,
    key,
  });
}

/**
 * The PagerDuty incident the declaration opened ends with the incident, or it would go on
 * escalating. One it shares with an alert (declared from the alert's thread) is the
 * alert's: it resolves when the alert does.
 */
async function resolvePage(deps: Deps, incident: Incident): Promise<void> {
  const key = incident.pagerduty?.id;
  if (!key || key !== incidentPageKey(incident.id) || !deps.pagerduty.enabled) return;
  // Through the retried PagerDuty job: an Events API down a while must not leave it paging.
  await deps.queues.enqueue(
    pagerDutyEventJob,
    { action: 'resolve', dedupKey: key },
    { jobId: `pd-resolve-${key}` },
  );
}

/**
 * Resolve: the metrics, the postmortem draft as a Markdown file in the channel (and in the
 * audit stream), the summary and topic marked resolved.
 */
export async function resolve(
  deps: Deps,
  incident: Incident,
  summary: string,
  actor: string,
  /** A retry of this resolve's job: an incident it finds resolved by `actor` is this resolve's, made before it failed. */
  retry = false,
): Promise<Incident> {
  const at = deps.now();
  const result = await deps.incidents.change<Change>(incident.id, (current) => {
    const decided = resolveIncident(current, summary, actor, at);
    return decided.ok
      ? { next: decided.incident, entry: decided.entry, verdict: decided }
      : { verdict: decided };
  });
  if (!result) throw new Refusal('input', 'this incident is not known (any more)');
  const madeBefore =
    !result.verdict.ok &&
    retry &&
    result.incident?.status === 'resolved' &&
    result.incident.resolvedBy === actor;
  if (!result.verdict.ok && !madeBefore) throw new Refusal('guard', result.verdict.reason);
  // What follows the resolve is done again on a retry: the close, the page, the summary and
  // the postmortem (the audit event, recorded before Slack was asked, once).
  const resolved = result.verdict.ok ? result.verdict.incident : result.incident!;
  await deps.incidents.closed(resolved.id);
  await resolvePage(deps, resolved);
  const timeline = await deps.incidents.timeline(resolved.id);
  const figures = metrics(resolved, timeline);
  const markdown = postmortemMarkdown(resolved, timeline);
  // Recorded before Slack is asked: the draft survives in the audit stream whatever Slack does.
  if (!madeBefore)
    await deps.audit.record({
      type: 'incident-resolved',
      actor,
      detail: `${resolved.id}: ${markdown}`.slice(0, 16_000),
    });
  await show(deps, resolved);
  await deps.outbox.paced('files.uploadV2', resolved.channel, () =>
    deps.slack.filesUploadV2({
      channel_id: resolved.channel,
      content: markdown,
      filename: `postmortem-${resolved.channelName}.md`,
      title: `Postmortem draft: ${resolved.title}`,
      initial_comment: resolvedLine(resolved, figures).markup,
    }),
  );
  return resolved;
}
