import { defaultPolicyPath, loadPolicy } from '../../src/config/policy';
import {
  applyNotification,
  deliveryDigest,
  keepAlertsOf,
  serviceOfLabels,
  silenceMatchers,
  standingChanges,
  storedBefore,
} from '../../src/alerts/domain/group';
import { notificationSchema, type Notification } from '../../src/alerts/domain/payload';
import { describeIssue } from '../../src/config/errors';

const policy = loadPolicy(defaultPolicyPath());
const alert = (fingerprint: string, status: 'firing' | 'resolved', pod: string) => ({
  status,
  labels: {
    alertname: 'AzoraHighErrorRate',
    severity: 'critical',
    namespace: 'azora-production',
    service: 'payment',
    pod,
  },
  annotations: { summary: 'Error rate above 5%' },
  startsAt: '2026-11-26T03:00:00Z',
  endsAt: status === 'resolved' ? '2026-11-26T03:10:00Z' : '0001-01-01T00:00:00Z',
  fingerprint,
});
const notification = (alerts: ReturnType<typeof alert>[]): Notification =>
  notificationSchema.parse({
    version: '4',
    groupKey: '{}:{alertname="AzoraHighErrorRate", namespace="azora-production", service="payment"}',
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'azora',
    groupLabels: { alertname: 'AzoraHighErrorRate', namespace: 'azora-production', service: 'payment' },
    commonLabels: {
      alertname: 'AzoraHighErrorRate',
      severity: 'critical',
      namespace: 'azora-production',
      service: 'payment',
    },
    commonAnnotations: { summary: 'Error rate above 5%' },
    alerts,
  });

describe('folding notifications into an alert group', () => {
  it('keeps the rule’s generatorURL for its graph: the newest firing alert’s, else what it had', () => {
    const withUrl = (a: ReturnType<typeof alert>, expr: string) => ({
      ...a,
      generatorURL: `http://prometheus:9090/graph?g0.expr=${encodeURIComponent(expr)}`,
    });
    const opened = applyNotification(
      undefined,
      notification([
        withUrl(alert('a', 'resolved', 'p1'), 'old > 1'),
        withUrl(alert('b', 'firing', 'p2'), 'new > 1'),
      ]),
      policy,
      1,
    );
    expect(opened.group.generatorURL).toContain(encodeURIComponent('new > 1'));
    const later = applyNotification(opened.group, notification([alert('c', 'firing', 'p3')]), policy, 2);
    expect(later.group.generatorURL).toBe(opened.group.generatorURL);
    const none = applyNotification(undefined, notification([alert('a', 'firing', 'p1')]), policy, 1);
    expect(none.group).not.toHaveProperty('generatorURL');
  });

  it('names an environment or a service only when every alert names the same, for a group across namespaces', () => {
    const inNamespace = (fingerprint: string, namespace: string, service = 'payment') => {
      const a = alert(fingerprint, 'firing', `${service}-1`);
      return { ...a, labels: { ...a.labels, namespace, service } };
    };
    // Grouped by alertname alone: the labels all its alerts share name neither.
    const groupOf = (alerts: ReturnType<typeof alert>[]) => {
      const n = notification(alerts);
      const grouped: Notification = {
        ...n,
        groupLabels: { alertname: 'AzoraHighErrorRate' },
        commonLabels: { alertname: 'AzoraHighErrorRate', severity: 'critical' },
      };
      const { environment, service } = applyNotification(undefined, grouped, policy, 1).group;
      return [environment, service];
    };
    // Alertmanager lists the staging alert first (by its labels): the group is still not staging's.
    expect(groupOf([inNamespace('s', 'azora-staging'), inNamespace('p', 'azora-production')])).toEqual([
      undefined,
      'payment',
    ]);
    expect(
      groupOf([inNamespace('a', 'azora-production', 'auth'), inNamespace('p', 'azora-production')]),
    ).toEqual(['production', undefined]);
    expect(groupOf([inNamespace('p', 'azora-production')])).toEqual(['production', 'payment']);

    // A production alert joining a group that was staging's alone: about neither from then on.
    const grouped = (alerts: ReturnType<typeof alert>[]): Notification => ({
      ...notification(alerts),
      groupLabels: { alertname: 'AzoraHighErrorRate' },
      commonLabels: { alertname: 'AzoraHighErrorRate', severity: 'critical' },
    });
    const staging = applyNotification(undefined, grouped([inNamespace('s', 'azora-staging')]), policy, 1);
    expect(staging.group.environment).toBe('staging');
    const joined = applyNotification(
      staging.group,
      grouped([inNamespace('s', 'azora-staging'), inNamespace('p', 'azora-production')]),
      policy,
      2,
    );
    expect(joined.group.environment).toBeUndefined();
  });

  it('opens, grows, shrinks, resolves and reopens, saying what changed each time', () => {
    const opened = applyNotification(undefined, notification([alert('a', 'firing', 'p1')]), policy, 1);
    expect(opened.changes).toEqual([{ kind: 'opened' }]);
    expect(opened.group).toMatchObject({
      status: 'firing',
      environment: 'production',
      service: 'payment',
      severity: 'critical',
      channel: 'C0INCIDENTS',
      episode: 1,
    });

    const grown = applyNotification(
      opened.group,
      notification([alert('a', 'firing', 'p1'), alert('b', 'firing', 'p2')]),
      policy,
      2,
    );
    expect(grown.changes).toEqual([{ kind: 'firing', fingerprints: ['b'] }]);

    const shrunk = applyNotification(
      grown.group,
      notification([alert('a', 'resolved', 'p1'), alert('b', 'firing', 'p2')]),
      policy,
      3,
    );
    expect(shrunk.changes).toEqual([{ kind: 'alerts-resolved', fingerprints: ['a'] }]);

    const resolved = applyNotification(
      shrunk.group,
      notification([alert('a', 'resolved', 'p1'), alert('b', 'resolved', 'p2')]),
      policy,
      4,
    );
    expect(resolved.changes).toEqual([{ kind: 'resolved' }]);
    expect(resolved.group.status).toBe('resolved');

    const again = { ...alert('a', 'firing', 'p1'), startsAt: '2026-11-26T04:00:00Z' };
    const reopened = applyNotification(resolved.group, notification([again]), policy, 5);
    expect(reopened.changes).toEqual([{ kind: 'reopened', episode: 2 }]);
    // Since when this firing, not the first.
    expect(reopened.group.openedAt).toBe(5);
  });

  it('starts a firing again afresh: the last one’s acknowledgement and ended silence are not carried over', () => {
    const opened = applyNotification(undefined, notification([alert('a', 'firing', 'p1')]), policy, 1);
    const handled = {
      ...opened.group,
      acknowledgedBy: 'U0ONCALL',
      silence: { id: 's1', endsAt: new Date(2).toISOString(), by: 'U0ONCALL' },
    };
    const resolved = applyNotification(handled, notification([alert('a', 'resolved', 'p1')]), policy, 2);
    expect(resolved.group).toMatchObject({ acknowledgedBy: 'U0ONCALL', silence: { id: 's1' } });

    const again = { ...alert('a', 'firing', 'p1'), startsAt: '2026-11-26T05:00:00Z' };
    const reopened = applyNotification(resolved.group, notification([again]), policy, 3);

    expect(reopened.group).not.toHaveProperty('acknowledgedBy');
    expect(reopened.group).not.toHaveProperty('silence');
    expect(reopened.group).toMatchObject({ status: 'firing', episode: 2, openedAt: 3 });

    // A silence still in force is Alertmanager's still: kept, for Expire to lift.
    const holding = {
      ...resolved.group,
      silence: { id: 's2', endsAt: new Date(60_000).toISOString(), by: 'U0ONCALL' },
    };
    const again2 = applyNotification(holding, notification([again]), policy, 3);
    expect(again2.group.silence).toMatchObject({ id: 's2' });
    expect(again2.group).not.toHaveProperty('acknowledgedBy');
  });

  it('ranks the severities the policy pages for first, whatever their names', () => {
    const custom = { ...policy, alerts: { ...policy.alerts, page: ['P1'] } };
    const named = (severity: string, fp: string) => {
      const a = alert(fp, 'firing', fp);
      return { ...a, labels: { ...a.labels, severity } };
    };
    const mixed = (alerts: ReturnType<typeof alert>[]): Notification => {
      const n = notification(alerts);
      const { severity: _mixed, ...common } = n.commonLabels;
      return { ...n, commonLabels: common };
    };
    const opened = applyNotification(undefined, mixed([named('P1', 'a')]), custom, 1);
    const joined = applyNotification(
      opened.group,
      mixed([named('P1', 'a'), named('warning', 'b')]),
      custom,
      2,
    );
    expect(joined.group.severity).toBe('P1');
    expect(joined.changes.some((c) => c.kind === 'escalated')).toBe(false);
  });

  it('takes Alertmanager’s status for the alerts it left out (max_alerts) or no longer lists', () => {
    const truncated = (n: Notification, status: 'firing' | 'resolved', left: number): Notification => ({
      ...n,
      status,
      truncatedAlerts: left,
    });
    const opened = applyNotification(
      undefined,
      notification([alert('a', 'firing', 'p1'), alert('b', 'firing', 'p2')]),
      policy,
      1,
    );
    // b is still firing, but Alertmanager sent only a (resolved) and counted b as left out.
    const partial = applyNotification(
      opened.group,
      truncated(notification([alert('a', 'resolved', 'p1')]), 'firing', 1),
      policy,
      2,
    );
    expect(partial.group).toMatchObject({ status: 'firing', truncated: 1 });
    expect(partial.changes).toEqual([{ kind: 'alerts-resolved', fingerprints: ['a'] }]);

    // Then everything resolved, b again left out: the group resolves, b with it.
    const resolved = applyNotification(
      partial.group,
      truncated(notification([alert('a', 'resolved', 'p1')]), 'resolved', 1),
      policy,
      3,
    );
    expect(resolved.changes).toEqual([{ kind: 'resolved' }]);
    expect(resolved.group.status).toBe('resolved');
    expect(resolved.group.alerts.b).toMatchObject({ status: 'resolved', endsAt: new Date(3).toISOString() });
  });

  it('keeps the firing alerts of an oversized notification, newest first, alike in any order', () => {
    const at = (a: ReturnType<typeof alert>, startsAt: string) => ({ ...a, startsAt });
    const alerts = [
      alert('r1', 'resolved', 'p1'),
      at(alert('f-old', 'firing', 'p2'), '2026-11-26T01:00:00Z'),
      alert('r2', 'resolved', 'p3'),
      at(alert('f-new', 'firing', 'p4'), '2026-11-26T05:00:00Z'),
      at(alert('f-mid', 'firing', 'p5'), '2026-11-26T03:00:00Z'),
      // Alertmanager drops trailing zeros: half a second later than f-mid, though it sorts before it as text.
      at(alert('f-mid-later', 'firing', 'p6'), '2026-11-26T03:00:00.5Z'),
    ];
    const whole = { ...notification(alerts), truncatedAlerts: 2 };
    const kept = keepAlertsOf(whole, 3);
    expect(kept.alerts.map((a) => a.fingerprint)).toEqual(['f-new', 'f-mid-later', 'f-mid']);
    // What Alertmanager left out and what was cut here are both left out.
    expect(kept.truncatedAlerts).toBe(5);
    // An HA peer listing the same alerts in another order makes the same delivery.
    const reversed = keepAlertsOf({ ...whole, alerts: [...whole.alerts].reverse() }, 3);
    expect(deliveryDigest(reversed)).toBe(deliveryDigest(kept));
    expect(keepAlertsOf(whole, 6)).toBe(whole);
  });

  it('is as urgent as its most urgent firing alert, and within one firing never less', () => {
    const mixed = (alerts: ReturnType<typeof alert>[]): Notification => {
      const n = notification(alerts);
      const { severity: _mixed, ...common } = n.commonLabels;
      return { ...n, commonLabels: common };
    };
    const warn = (fp: string, status: 'firing' | 'resolved', pod: string) => {
      const a = alert(fp, status, pod);
      return { ...a, labels: { ...a.labels, severity: 'warning' } };
    };
    const opened = applyNotification(undefined, mixed([warn('a', 'firing', 'p1')]), policy, 1);
    expect(opened.group.severity).toBe('warning');

    const risen = applyNotification(
      opened.group,
      mixed([warn('a', 'firing', 'p1'), alert('b', 'firing', 'p2')]),
      policy,
      2,
    );
    expect(risen.group.severity).toBe('critical');
    expect(risen.changes).toContainEqual({ kind: 'escalated', from: 'warning', to: 'critical' });

    // The critical alert resolves; the group still fires, and stays critical in this firing.
    const calmer = applyNotification(
      risen.group,
      mixed([warn('a', 'firing', 'p1'), alert('b', 'resolved', 'p2')]),
      policy,
      3,
    );
    expect(calmer.group.severity).toBe('critical');
    expect(calmer.changes.some((c) => c.kind === 'escalated')).toBe(false);
  });

  it('keeps the labels all the group’s alerts share, for a silence that matches just them', () => {
    const byName = {
      ...notification([alert('a', 'firing', 'p1')]),
      groupLabels: { alertname: 'AzoraHighErrorRate' },
    };
    const { group } = applyNotification(undefined, byName, policy, 1);
    expect(silenceMatchers(group)).toEqual({
      alertname: 'AzoraHighErrorRate',
      severity: 'critical',
      namespace: 'azora-production',
      service: 'payment',
    });
    // A group stored before common labels were kept falls back to its group labels.
    const { commonLabels: _none, ...older } = group;
    expect(silenceMatchers(older)).toEqual({ alertname: 'AzoraHighErrorRate' });
    expect(silenceMatchers({ ...older, groupLabels: {} })).toEqual({});
  });

  it('does not go back for a notification stored before the one it last applied', () => {
    const fired = applyNotification(
      undefined,
      notification([alert('a', 'firing', 'p1')]),
      policy,
      1,
      '1000-0',
    );
    const resolved = applyNotification(
      fired.group,
      notification([alert('a', 'resolved', 'p1')]),
      policy,
      3,
      '1000-2',
    );
    expect(resolved.group).toMatchObject({ status: 'resolved', lastEntry: '1000-2' });

    // The firing one again, stored between the two (another worker held it a moment longer).
    const late = notification([alert('a', 'firing', 'p1'), alert('b', 'firing', 'p2')]);
    expect(applyNotification(resolved.group, late, policy, 4, '1000-1')).toEqual({
      group: resolved.group,
      changes: [],
    });
    // Stored after it, the same notification is news; without an entry (an earlier
    // version's job) there is nothing to order by.
    expect(applyNotification(resolved.group, late, policy, 4, '1001-0').group.status).toBe('firing');
    expect(applyNotification(resolved.group, late, policy, 4).changes).toEqual([
      { kind: 'reopened', episode: 2 },
    ]);
  });

  it('says what a group stands for, for a retry whose notification was applied already', () => {
    expect(standingChanges({ status: 'firing' })).toEqual([{ kind: 'opened' }]);
    expect(standingChanges({ status: 'resolved' })).toEqual([{ kind: 'resolved' }]);
  });

  it('orders inbox entries by their stream ids, milliseconds first', () => {
    expect(storedBefore('999-5', '1000-0')).toBe(true);
    expect(storedBefore('1000-1', '1000-2')).toBe(true);
    expect(storedBefore('1000-2', '1000-2')).toBe(false);
    expect(storedBefore('1000-10', '1000-9')).toBe(false);
    expect(storedBefore('not-an-id', '1000-0')).toBe(false);
  });

  it('changes nothing for a repeated delivery', () => {
    const n = notification([alert('a', 'firing', 'p1')]);
    const first = applyNotification(undefined, n, policy, 1);
    expect(applyNotification(first.group, structuredClone(n), policy, 9)).toEqual({
      group: first.group,
      changes: [],
    });
    expect(deliveryDigest(n)).toBe(deliveryDigest(structuredClone(n)));
  });

  it('finds the service from a deployment label, colour and all', () => {
    expect(serviceOfLabels(policy, { deployment: 'azora-auth-green' })).toBe('auth');
    expect(serviceOfLabels(policy, { statefulset: 'postgres-replica' })).toBe('postgres-replica');
    expect(serviceOfLabels(policy, { deployment: 'other' })).toBeUndefined();
  });
});

describe('the Alertmanager v4 payload', () => {
  const firstIssue = (payload: unknown) => {
    const parsed = notificationSchema.safeParse(payload);
    return parsed.success ? 'accepted' : describeIssue(parsed.error.issues[0]!);
  };
  const valid = () => ({
    version: '4',
    groupKey: '{}:{alertname="AzoraHighErrorRate"}',
    status: 'firing',
    receiver: 'azora',
    alerts: [{ ...alert('a', 'firing', 'p1') }],
  });

  it('fills what Alertmanager may leave out, and drops fields it does not know', () => {
    const { annotations: _none, ...bare } = alert('a', 'firing', 'p1');
    const parsed = notificationSchema.parse({ ...valid(), extra: 1, alerts: [{ ...bare, extra: 2 }] });
    expect(parsed).toEqual({
      version: '4',
      groupKey: '{}:{alertname="AzoraHighErrorRate"}',
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'azora',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: '',
      alerts: [{ ...bare, annotations: {}, generatorURL: '' }],
    });
  });

  it.each([
    ['a label that is no string', { pod: 5 }, 'alerts.0.labels: expected an object of strings'],
    ['labels that are a list', ['a'], 'alerts.0.labels: expected an object of strings'],
    ['labels that are null', null, 'alerts.0.labels: expected an object of strings'],
  ])('refuses %s, naming where', (_what, labels, issue) => {
    const payload = valid();
    const bad = { ...payload, alerts: [{ ...payload.alerts[0]!, labels }] };
    expect(firstIssue(bad)).toBe(issue);
  });

  it('takes alerts without an alertname and a notification without a receiver, as Alertmanager sends them', () => {
    const payload = valid();
    const { receiver: _receiver, ...noReceiver } = payload;
    const unnamed = { ...noReceiver, alerts: [{ ...payload.alerts[0]!, labels: { service: 'payment' } }] };
    expect(firstIssue(unnamed)).toBe('accepted');
    const { group } = applyNotification(undefined, notificationSchema.parse(unnamed), policy, 1);
    expect(group).toMatchObject({ alertname: 'alert', service: 'payment' });
  });

  it('refuses a group label or annotation that is no string', () => {
    expect(firstIssue({ ...valid(), commonAnnotations: { summary: ['x'] } })).toBe(
      'commonAnnotations: expected an object of strings',
    );
    expect(firstIssue(valid())).toBe('accepted');
  });
});

describe('a group firing again', () => {
  it('does not carry the last episode’s maintenance note into the new one', () => {
    const opened = applyNotification(undefined, notification([alert('a', 'firing', 'p1')]), policy, 1);
    const noted = { ...opened.group, maintenance: 'db upgrade (`mw-1`)' };
    const resolved = applyNotification(noted, notification([alert('a', 'resolved', 'p1')]), policy, 2);
    const again = { ...alert('a', 'firing', 'p1'), startsAt: '2026-12-26T05:00:00Z' };
    const reopened = applyNotification(resolved.group, notification([again]), policy, 3);
    expect(reopened.changes).toEqual([{ kind: 'reopened', episode: 2 }]);
    expect(reopened.group).not.toHaveProperty('maintenance');
  });
});
