import type { RunbookAction } from '../config/policy';
import { checkChannel } from '../access/domain/rules';
import { channelFor, groupIdOf, severityOf, type AlertChange, type AlertGroup } from './domain/group';
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
  services: Deps,
  group: AlertGroup,
  changes: AlertChange[],
  at: number,
): Promise<AlertGroup> {
  if (!group.environment || !changes.some((c) => c.kind === 'opened' || c.kind === 'reopened')) return group;
  const window = await services.maintenanceWindows.activeIn(group.environment, at);
  if (!window) return group;
  const note = `${window.reason} (\`${window.id}\`)`;
  return (await services.alerts.update(group.id, (g) => ({ ...g, maintenance: note }))) ?? group;
}

export const parentKey = (group: AlertGroup): string => `alert-${group.id}`;

/** The runbook buttons that fit this group: the policy's list, less what cannot apply to its service. */
export function runbooksFor(services: Deps, group: AlertGroup): RunbookAction[] {
  const { policy } = services;
  const wanted = policy.alerts.runbooks[group.alertname] ?? [];
  if (!group.environment || !group.service) return [];
  const workload = workloadOf(policy, group.environment, group.service);
  return wanted.filter((action) => {
    if (action === 'switch-back') return workload.kind === 'blue-green';
    if (action === 'rollback') return workload.kind === 'deployment';
    // Logs are posted in the alert's thread: not offered where the policy keeps them out.
    if (action === 'logs') return checkChannel(policy, group.environment!, group.channel).ok;
    return true;
  });
}

/** A runbook_url may be a link button only over https (http on loopback), and on the policy's hosts when it lists any. */
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
  return parsed.href;
}

export function buttonsFor(services: Deps, group: AlertGroup): AlertButtons {
  return {
    acknowledge: services.pagerduty.enabled && services.policy.alerts.page.includes(group.severity),
    silence: services.alertmanager !== undefined,
    runbooks: runbooksFor(services, group),
    runbookLink: safeRunbookUrl(group.runbookUrl, services.policy.alerts.runbookHosts),
  };
}

/** Shows a group where it lives: its own thread's parent, or its line in the storm digest. */
export async function showGroup(services: Deps, group: AlertGroup): Promise<void> {
  if (group.digest) {
    const view = await services.alerts.setDigestLine(
      group.digest,
      group.id,
      digestLine(group),
      group.status === 'firing',
      DIGEST_LINES,
    );
    await services.outbox.put(group.channel, group.digest, digestMessage(view));
    return;
  }
  await services.outbox.put(
    group.channel,
    parentKey(group),
    alertParentMessage(group, buttonsFor(services, group)),
  );
}

/**
 * One Alertmanager notification: fold it into its group, then update Slack (paced by the
 * outbox) and PagerDuty. A duplicate delivery changes nothing; a retried job redoes its
 * Slack and PagerDuty effects idempotently.
 */
export async function handleNotification(
  services: Deps,
  notification: Notification,
): Promise<{ group: AlertGroup; changes: AlertChange[] }> {
  const { policy, alerts, now } = services;
  const at = now();
  const channel = channelFor(policy, severityOf(notification));
  const id = groupIdOf(notification.groupKey);
  const applied = await alerts.apply(notification, policy, at, () =>
    alerts.stormDigest(channel, id, at, policy.alerts.stormGroupsPerMinute),
  );
  const { changes } = applied;
  const group = await noteMaintenance(services, applied.group, changes, at);
  if (changes.length === 0) {
    if (!(await services.outbox.has(group.digest ?? parentKey(group)))) await showGroup(services, group);
    return { group, changes };
  }
  await showGroup(services, group);
  if (!group.digest) {
    for (const [index, change] of changes.entries()) {
      const reply = alertChangeReply(group, change);
      if (reply)
        await services.outbox.reply(
          group.channel,
          parentKey(group),
          reply,
          `${group.id}-${group.lastDelivery}-${index}`,
        );
    }
  }
  return { group, changes };
}
