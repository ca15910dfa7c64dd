import { createHash } from 'node:crypto';
import type { Policy } from '../../config/policy';
import type { EnvironmentName } from '../../commands/domain/types';
import type { Alert, Notification } from './payload';

/**
 * What a group keeps of each alert. Not its annotations: the group's summary and runbook
 * come from the notification's, and each alert's own would only make every fold of a
 * storm's groups read and write more.
 */
export interface AlertState {
  status: Alert['status'];
  startsAt: string;
  endsAt: string;
  labels: Record<string, string>;
}

/** One Alertmanager group (one `groupKey`), which lives in one Slack thread from firing to resolved. */
export interface AlertGroup {
  /** Short, stable id of the groupKey, safe in Redis keys and button ids. */
  id: string;
  groupKey: string;
  status: 'firing' | 'resolved';
  alertname: string;
  severity: string;
  summary: string;
  runbookUrl?: string;
  /**
   * The rule's page in Prometheus (an alert's generatorURL, carrying its expression as
   * `g0.expr`): what the alert's graph draws. The newest firing alert's that has one.
   */
  generatorURL?: string;
  /** The group's own labels (Alertmanager's group_by). */
  groupLabels: Record<string, string>;
  /**
   * The labels every alert of the group shares (the last notification's commonLabels): a
   * silence matches these, so it holds back this group's alerts and not, say, the same
   * alertname in every namespace when the route groups by alertname alone.
   */
  commonLabels?: Record<string, string>;
  /** How many alerts the last notification left out: Alertmanager's `max_alerts`, and past the 500 a group keeps. */
  truncated?: number;
  environment?: EnvironmentName;
  service?: string;
  channel: string;
  alerts: Record<string, AlertState>;
  openedAt: number;
  resolvedAt?: number;
  /** Counts firings: 1 when opened, +1 each time it fires again after being resolved. */
  episode: number;
  /** Digest of the last notification applied, so that a repeated delivery changes nothing. */
  lastDelivery: string;
  /** The alert inbox entry (a Redis stream id) of the last notification applied, if it came through the inbox. */
  lastEntry?: string;
  updatedAt: number;
  /** Set when the group arrived during a storm and is shown in the channel's digest. */
  digest?: string;
  silence?: { id: string; endsAt: string; by: string };
  acknowledgedBy?: string;
  /** During a maintenance window, said in the thread (set by the maintenance feature). */
  maintenance?: string;
}

export type AlertChange =
  | { kind: 'opened' }
  | { kind: 'reopened'; episode: number }
  | { kind: 'firing'; fingerprints: string[] }
  | { kind: 'alerts-resolved'; fingerprints: string[] }
  /** A firing group whose severity rose (a critical alert joined a warning's group). */
  | { kind: 'escalated'; from: string; to: string }
  | { kind: 'resolved' };

/**
 * What a group's state stands for, as a change: what a retried notification's later steps
 * (page, graph, release, timeline) go by when an earlier attempt applied it already.
 */
export const standingChanges = (group: Pick<AlertGroup, 'status'>): AlertChange[] => [
  { kind: group.status === 'firing' ? 'opened' : 'resolved' },
];

export const groupIdOf = (groupKey: string): string =>
  createHash('sha256').update(groupKey).digest('hex').slice(0, 16);

/**
 * What a delivery says, independent of how often it is delivered: Alertmanager HA peers
 * and retries send the same content again, and a repeat_interval resend adds nothing.
 */
export function deliveryDigest(notification: Notification): string {
  const alerts = notification.alerts
    .map((a) => `${a.fingerprint}|${a.status}|${a.startsAt}|${a.status === 'resolved' ? a.endsAt : ''}`)
    .sort();
  return createHash('sha256')
    .update(JSON.stringify([notification.groupKey, notification.status, alerts]))
    .digest('hex')
    .slice(0, 24);
}

/**
 * Which Alertmanager sent a delivery: its external URL (each peer's own unless they are
 * set alike) and the address it came from (each peer's own unless a proxy stands between).
 * Peers alike in both count as one sender.
 */
export function deliverySender(externalURL: string, remoteAddress: string | undefined): string {
  return createHash('sha256')
    .update(`${externalURL}\n${remoteAddress ?? ''}`)
    .digest('hex')
    .slice(0, 12);
}

/** The environment an alert is about: its namespace label, or an `environment` label. */
export function environmentOfLabels(
  policy: Policy,
  labels: Record<string, string>,
): EnvironmentName | undefined {
  for (const [name, env] of Object.entries(policy.environments)) {
    if (env && (labels.namespace === env.namespace || labels.environment === name || labels.env === name)) {
      return name as EnvironmentName;
    }
  }
  return undefined;
}

/** The policy service an alert is about: its `service` label, or a deployment/app label naming one. */
export function serviceOfLabels(policy: Policy, labels: Record<string, string>): string | undefined {
  if (labels.service && policy.services[labels.service]) return labels.service;
  const workload = labels.deployment ?? labels.app ?? labels.statefulset;
  if (!workload) return undefined;
  const base = workload.replace(/-(blue|green)$/, '');
  return Object.entries(policy.services).find(
    ([, s]) => s.deployment === base || s.statefulset === base,
  )?.[0];
}

export function channelFor(policy: Policy, severity: string): string {
  const purpose = policy.alerts.channels[severity] ?? policy.alerts.defaultChannel;
  return policy.channels[purpose];
}

const firingOf = (alerts: Record<string, AlertState>) =>
  Object.entries(alerts)
    .filter(([, a]) => a.status === 'firing')
    .map(([fp]) => fp);

/** Whether alert inbox entry `a` was stored before entry `b` (Redis stream ids: `<ms>-<seq>`). */
export function storedBefore(a: string, b: string): boolean {
  const [aMs = NaN, aSeq = NaN] = a.split('-').map(Number);
  const [bMs = NaN, bSeq = NaN] = b.split('-').map(Number);
  return aMs < bMs || (aMs === bMs && aSeq < bSeq);
}

/**
 * Folds a notification into the group's state and says what changed. A notification
 * carries the group's current alerts, so alerts missing from it keep their last state.
 * `entry`, the notification's place in the alert inbox, keeps the group from going back:
 * a notification stored before the one last applied (another worker held it a moment
 * longer, or it failed and was retried) is older news and changes nothing.
 */
export function applyNotification(
  previous: AlertGroup | undefined,
  notification: Notification,
  policy: Policy,
  now: number,
  entry?: string,
): { group: AlertGroup; changes: AlertChange[] } {
  const delivery = deliveryDigest(notification);
  if (previous && previous.lastDelivery === delivery) return { group: previous, changes: [] };
  if (entry && previous?.lastEntry && storedBefore(entry, previous.lastEntry))
    return { group: previous, changes: [] };

  const labels = { ...notification.commonLabels, ...notification.groupLabels };
  const first = notification.alerts[0]!;
  const severity = severityOf(notification, policy);
  const alerts: Record<string, AlertState> = { ...previous?.alerts };
  for (const a of notification.alerts) {
    alerts[a.fingerprint] = {
      status: a.status,
      startsAt: a.startsAt,
      endsAt: a.endsAt,
      labels: a.labels,
    };
  }
  // Alertmanager's status covers every alert of the group, listed or not: resolved, none
  // fires any more, including alerts its `max_alerts` left out or that it dropped.
  if (notification.status === 'resolved') {
    const endsAt = new Date(now).toISOString();
    for (const [fp, a] of Object.entries(alerts))
      if (a.status === 'firing') alerts[fp] = { ...a, status: 'resolved', endsAt };
  }
  pruneAlerts(alerts);
  const wasFiring = new Set(previous ? firingOf(previous.alerts) : []);
  const nowFiring = firingOf(alerts);
  // Firing with every listed alert resolved: the alerts still firing are among those left out.
  const firingLeftOut = notification.status === 'firing' && notification.truncatedAlerts > 0;
  const status: AlertGroup['status'] = nowFiring.length > 0 || firingLeftOut ? 'firing' : 'resolved';

  const changes: AlertChange[] = [];
  let episode = previous?.episode ?? 1;
  const reopened = previous?.status === 'resolved' && status === 'firing';
  if (!previous) changes.push({ kind: 'opened' });
  else if (reopened) {
    episode += 1;
    changes.push({ kind: 'reopened', episode });
  }
  const newlyFiring = nowFiring.filter((fp) => !wasFiring.has(fp));
  const newlyResolved = [...wasFiring].filter((fp) => alerts[fp]?.status === 'resolved');
  if (previous && newlyFiring.length > 0 && previous.status === 'firing') {
    changes.push({ kind: 'firing', fingerprints: newlyFiring });
  }
  if (newlyResolved.length > 0 && status === 'firing')
    changes.push({ kind: 'alerts-resolved', fingerprints: newlyResolved });
  if (status === 'resolved' && (!previous || previous.status === 'firing'))
    changes.push({ kind: 'resolved' });
  // Within one firing, a group's severity only rises: what it paged for stays paged.
  const risen = previous && !reopened ? higherSeverity(policy, previous.severity, severity) : severity;
  if (previous && !reopened && status === 'firing' && risen !== previous.severity)
    changes.push({ kind: 'escalated', from: previous.severity, to: risen });

  const annotations = { ...first.annotations, ...notification.commonAnnotations };
  const generatorURL =
    notification.alerts.find((a) => a.status === 'firing' && a.generatorURL)?.generatorURL ??
    previous?.generatorURL;
  // Else what every alert says alike: a group of alerts from both namespaces (a route
  // grouping by alertname alone) is about neither, so that its buttons ask for rights in
  // each environment it touches, not in whichever alert Alertmanager happened to list first.
  const environment =
    environmentOfLabels(policy, labels) ??
    sharedBy(notification.alerts, (a) => environmentOfLabels(policy, a.labels));
  const service =
    serviceOfLabels(policy, labels) ??
    sharedBy(notification.alerts, (a) => serviceOfLabels(policy, a.labels));
  // A new firing starts afresh: the last one's acknowledgement and maintenance note were
  // about it. A silence that has not ended is still Alertmanager's, and stays for Expire to find.
  const { acknowledgedBy: _acknowledged, maintenance: _maintenance, silence, ...kept } = previous ?? {};
  const group: AlertGroup = {
    ...(reopened ? { ...kept, ...(silenceHolds(silence, now) ? { silence } : {}) } : previous),
    id: groupIdOf(notification.groupKey),
    groupKey: notification.groupKey,
    status,
    alertname: labels.alertname ?? first.labels.alertname ?? 'alert',
    severity: risen,
    summary: annotations.summary ?? annotations.description ?? labels.alertname ?? 'alert',
    ...(annotations.runbook_url ? { runbookUrl: annotations.runbook_url } : {}),
    ...(generatorURL ? { generatorURL: generatorURL.slice(0, MAX_GENERATOR_URL) } : {}),
    groupLabels: notification.groupLabels,
    commonLabels: notification.commonLabels,
    truncated: notification.truncatedAlerts || undefined,
    // As this notification says, not kept from an earlier one: a production alert joining
    // a staging group makes it about neither.
    environment,
    service,
    channel: previous?.channel ?? channelFor(policy, severity),
    alerts,
    openedAt: reopened ? now : (previous?.openedAt ?? now),
    ...(status === 'resolved' ? { resolvedAt: now } : { resolvedAt: undefined }),
    episode,
    lastDelivery: delivery,
    ...(entry ? { lastEntry: entry } : {}),
    updatedAt: now,
  };
  return { group, changes };
}

/** The value `of` gives every alert, when it gives them all the same one. */
function sharedBy<T>(alerts: readonly Alert[], of: (alert: Alert) => T | undefined): T | undefined {
  const first = alerts[0] && of(alerts[0]);
  return first !== undefined && alerts.every((a) => of(a) === first) ? first : undefined;
}

/** A rule's expression fits in far less; a longer URL is cut rather than stored whole. */
const MAX_GENERATOR_URL = 4_096;

/** A group remembers at most this many alerts: resolved ones go first, oldest first. */
export const MAX_ALERTS_PER_GROUP = 500;

/**
 * A notification with more alerts than a group keeps, cut to that many before it is
 * stored: firing ones first, the newest first, the rest counted as left out, the way
 * Alertmanager's own `max_alerts` does. Refusing it would lose the group (a 4xx is never
 * retried), and storing it whole would put megabytes in the inbox for alerts the group
 * drops anyway. The order depends only on the alerts, so both copies of an HA pair cut
 * alike and stay one delivery.
 */
export function keepAlertsOf(notification: Notification, max = MAX_ALERTS_PER_GROUP): Notification {
  if (notification.alerts.length <= max) return notification;
  const rank = (a: Alert) => (a.status === 'firing' ? 0 : 1);
  // As instants: Alertmanager's RFC 3339 drops trailing zeros, so `…:00Z` and `…:00.5Z` do not sort as text.
  const time = (a: Alert) => Date.parse(a.status === 'firing' ? a.startsAt : a.endsAt) || 0;
  const alerts = [...notification.alerts]
    .sort(
      (a, b) =>
        rank(a) - rank(b) ||
        time(b) - time(a) ||
        (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0),
    )
    .slice(0, max);
  return {
    ...notification,
    alerts,
    truncatedAlerts: notification.truncatedAlerts + notification.alerts.length - max,
  };
}

/** Keeps a long-lived group's document bounded: Alertmanager keeps sending alerts it has resolved. */
function pruneAlerts(alerts: Record<string, AlertState>): void {
  const entries = Object.entries(alerts);
  if (entries.length <= MAX_ALERTS_PER_GROUP) return;
  const order = (a: AlertState) => (a.status === 'resolved' ? 0 : 1);
  entries
    .sort(
      ([, a], [, b]) =>
        order(a) - order(b) ||
        (a.status === 'resolved' ? a.endsAt : a.startsAt).localeCompare(
          b.status === 'resolved' ? b.endsAt : b.startsAt,
        ),
    )
    .slice(0, entries.length - MAX_ALERTS_PER_GROUP)
    .forEach(([fp]) => delete alerts[fp]);
}

/** Severities from the most to the least urgent, after those the policy pages for; any other comes last. */
const SEVERITY_ORDER = ['critical', 'error', 'warning', 'info', 'notice'];

/** The more urgent of two severities: one the policy pages for first, whatever its name. */
function higherSeverity(policy: Pick<Policy, 'alerts'>, a: string, b: string): string {
  const order = [...policy.alerts.page, ...SEVERITY_ORDER];
  const rankOf = (severity: string) => {
    const rank = order.indexOf(severity);
    return rank === -1 ? order.length : rank;
  };
  return rankOf(b) < rankOf(a) ? b : a;
}

/**
 * The notification's severity: the one its group or all its alerts share, else the most
 * urgent of its firing alerts (of all, when none fires), so a group that mixes severities
 * is as urgent as its most urgent alert.
 */
export function severityOf(notification: Notification, policy: Pick<Policy, 'alerts'>): string {
  const shared = notification.groupLabels.severity ?? notification.commonLabels.severity;
  if (shared) return shared;
  const firing = notification.alerts.filter((a) => a.status === 'firing');
  const severities = (firing.length > 0 ? firing : notification.alerts)
    .map((a) => a.labels.severity)
    .filter((s): s is string => s !== undefined);
  return severities.length > 0 ? severities.reduce((a, b) => higherSeverity(policy, a, b)) : 'warning';
}

export const firingCount = (group: AlertGroup): number => firingOf(group.alerts).length;

/** Whether the group's recorded silence is still in force at `now` (Alertmanager lifts it at its end). */
export const silenceHolds = (silence: AlertGroup['silence'], now: number): boolean =>
  silence !== undefined && Date.parse(silence.endsAt) > now;

/**
 * What a silence of the group matches: the labels all its alerts share, else (a group
 * stored before they were kept) its group labels. Empty when there is nothing to match on.
 */
export const silenceMatchers = (group: AlertGroup): Record<string, string> =>
  group.commonLabels && Object.keys(group.commonLabels).length > 0 ? group.commonLabels : group.groupLabels;

/** PagerDuty's dedup key: one incident per group and firing episode. */
export const pagerDutyKey = (group: AlertGroup): string => `azora-${group.id}-${group.episode}`;

/** The outbox key of a group's thread parent: its replies, logs and runbook requests go under it. */
export const parentKey = (group: AlertGroup): string => `alert-${group.id}`;

/** What a storm digest shows: its counts, and its first lines (firing first). */
export interface DigestView {
  total: number;
  firing: number;
  lines: string[];
}
