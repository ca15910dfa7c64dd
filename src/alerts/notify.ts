import type { RunbookAction } from '../config/policy';
import { checkChannel } from '../access/domain/rules';
import { parentKey, silenceHolds, silenceMatchers, type AlertChange, type AlertGroup } from './domain/group';
import type { Notification } from './domain/payload';
import { workloadOf } from '../kernel/domain/topology';
import type { Deps } from '../deps';
import {
  alertChangeReply,
  alertParentMessage,
  DIGEST_LINES,
  digestLine,
  digestMessage,
  type AlertButtons,
} from './views';

/** A group that opens during a maintenance window says so in its thread. */
async function noteMaintenance(
  deps: Deps,
  group: AlertGroup,
  changes: AlertChange[],
  at: number,
): Promise<AlertGroup> {
  if (!group.environment || !changes.some((c) => c.kind === 'opened' || c.kind === 'reopened')) return group;
  const window = await deps.maintenanceWindows.activeIn(group.environment, at);
  if (!window) return group;
  const note = `${window.reason} (\`${window.id}\`)`;
  return (await deps.alerts.update(group.id, (g) => ({ ...g, maintenance: note }))) ?? group;
}

/** The runbook buttons that fit this group: the policy's list, less what cannot apply to its service. */
export function runbooksFor(deps: Pick<Deps, 'policy'>, group: AlertGroup): RunbookAction[] {
  const { policy } = deps;
  const wanted = policy.alerts.runbooks[group.alertname] ?? [];
  if (!group.environment || !group.service) return [];
  // A press runs the command it stands for, in the alert's thread, under the same guards
  // as typing it there: none is offered where the policy keeps the environment's commands out.
  if (!checkChannel(policy, group.environment, group.channel).ok) return [];
  const workload = workloadOf(policy, group.environment, group.service);
  return wanted.filter((action) => {
    if (action === 'switch-back') return workload.kind === 'blue-green';
    if (action === 'rollback') return workload.kind === 'deployment';
    return true;
  });
}

/** The longest `url` Slack takes on a button. */
const MAX_BUTTON_URL = 3_000;

/**
 * A runbook_url may be a link button only over https (http on loopback), on the policy's
 * hosts when it lists any, and no longer than Slack takes.
 */
export function safeRunbookUrl(
  url: string | undefined,
  hosts: readonly string[] | undefined,
): string | undefined {
  if (!url) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  // http only for this machine's own pages (the sandbox serves its runbooks on localhost).
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  const scheme = parsed.protocol === 'https:' || (parsed.protocol === 'http:' && loopback);
  if (!scheme || parsed.username || parsed.password) return undefined;
  if (hosts && !hosts.includes(parsed.host.toLowerCase())) return undefined;
  // Slack refuses a whole message whose button URL is longer (a dashboard's variables).
  if (parsed.href.length > MAX_BUTTON_URL) return undefined;
  return parsed.href;
}

/** What the parent's buttons depend on besides the group: which services are there, and the clock. */
export interface ButtonDeps extends Pick<Deps, 'policy' | 'now'> {
  pagerduty: Pick<Deps['pagerduty'], 'enabled'>;
  alertmanager?: unknown;
  graphs: { prometheus?: unknown };
}

export function buttonsFor(deps: ButtonDeps, group: AlertGroup): AlertButtons {
  return {
    acknowledge: deps.pagerduty.enabled && deps.policy.alerts.page.includes(group.severity),
    silence: deps.alertmanager !== undefined && Object.keys(silenceMatchers(group)).length > 0,
    silenced: silenceHolds(group.silence, deps.now()),
    runbooks: runbooksFor(deps, group),
    runbookLink: safeRunbookUrl(group.runbookUrl, deps.policy.alerts.runbookHosts),
    declare: deps.policy.alerts.page.includes(group.severity),
    graph: deps.graphs.prometheus !== undefined,
  };
}

const DIGEST_SOURCE = 'alert-digest';

/**
 * Lets the outbox draw storm digests when it sends them: a storm changes its digest at
 * every notification, and Slack sees it at most once a channel-gap.
 */
export function drawDigests(outbox: Deps['outbox'], alerts: Deps['alerts']): void {
  outbox.renderWith(DIGEST_SOURCE, async (digest) =>
    digestMessage(await alerts.digestView(digest, DIGEST_LINES)),
  );
}

/** Shows a group where it lives: its own thread's parent, or its line in the storm digest. */
export async function showGroup(deps: Deps, group: AlertGroup): Promise<void> {
  if (group.digest) {
    await deps.alerts.setDigestLine(group.digest, group.id, digestLine(group), group.status === 'firing');
    await deps.outbox.putRendered(group.channel, group.digest, { kind: DIGEST_SOURCE, id: group.digest });
    return;
  }
  await deps.outbox.put(group.channel, parentKey(group), alertParentMessage(group, buttonsFor(deps, group)));
}

/**
 * One Alertmanager notification: fold it into its group, then update Slack (paced by the
 * outbox) and PagerDuty. A duplicate delivery, or one stored before the group's last
 * (`entry`: its alert inbox id), changes nothing; a retried job redoes its Slack and
 * PagerDuty effects idempotently (`retried`: the group is shown again, since the attempt
 * that stored it may have failed before showing it).
 */
export async function handleNotification(
  deps: Deps,
  notification: Notification,
  entry?: string,
  retried = false,
): Promise<{ group: AlertGroup; changes: AlertChange[] }> {
  const { policy, alerts, now } = deps;
  const at = now();
  const applied = await alerts.apply(notification, policy, at, entry);
  const { changes } = applied;
  const group = await noteMaintenance(deps, applied.group, changes, at);
  if (changes.length === 0) {
    if (retried || !(await deps.outbox.has(group.digest ?? parentKey(group)))) await showGroup(deps, group);
    return { group, changes };
  }
  await showGroup(deps, group);
  if (!group.digest) {
    for (const [index, change] of changes.entries()) {
      const reply = alertChangeReply(group, change);
      if (reply)
        await deps.outbox.reply(
          group.channel,
          parentKey(group),
          reply,
          // By episode too: a group that fires again with the start it had sends the same text.
          `${group.id}-${group.episode}-${group.lastDelivery}-${index}`,
        );
    }
  }
  return { group, changes };
}
