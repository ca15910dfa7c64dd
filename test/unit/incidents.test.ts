import { readFileSync } from 'node:fs';
import { ConfigError } from '../../src/config/errors';
import { defaultPolicyPath, parsePolicy, SLACK_CHANNEL_NAME } from '../../src/config/policy';
import { Refusal } from '../../src/kernel/domain/refusal';
import { channelName, slugOf } from '../../src/incidents/domain/channel';
import {
  escalationPoliciesFor,
  incidentTitle,
  pagesPagerDuty,
  severityForAlert,
  TITLE_MAX,
  type Incident,
} from '../../src/incidents/domain/incident';
import {
  applyEntry,
  changeCommander,
  changeSeverity,
  changeStatus,
  declareIncident,
  link,
  LINKS_MAX,
  resolveIncident,
  type Change,
  type Declaration,
} from '../../src/incidents/domain/lifecycle';
import { metrics } from '../../src/incidents/domain/metrics';
import { incidentListMessage, timelineMessage, TIMELINE_SHOWN } from '../../src/incidents/views';
import { planText } from '../../src/requests/views';
import type { PlanStep } from '../../src/requests/domain/types';
import { checkMessage } from '../../sandbox/slack-blocks';
import { nextNudgeAt, nudgeDue } from '../../src/incidents/domain/nudge';
import { postmortemMarkdown } from '../../src/incidents/domain/postmortem';
import { summaryText, topicText, TOPIC_MAX } from '../../src/incidents/domain/summary';
import {
  appendEntry,
  concerns,
  emptyTimeline,
  ENTRY_TEXT_MAX,
  TIMELINE_CAP,
  TIMELINE_HEAD,
  type Timeline,
  type TimelineEntry,
} from '../../src/incidents/domain/timeline';

const shipped = readFileSync(defaultPolicyPath(), 'utf8');
const POLICY = parsePolicy(shipped, 'default-policy.yaml');
const MIN = 60_000;
/** 2026-12-02 14:00 UTC. */
const T0 = Date.UTC(2026, 11, 2, 14, 0);

const configError = (yaml: string): string => {
  try {
    parsePolicy(yaml, 'p.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

const declaration = (overrides: Partial<Declaration> = {}): Declaration => ({
  id: 'i0a1b2c3',
  title: 'Payment errors after deploy',
  severity: 'sev1',
  environment: 'production',
  services: ['payment'],
  channel: 'C0INC1',
  channelName: 'inc-20261202-payment-errors-after-deploy',
  declaredBy: 'U0ALICE',
  at: T0 + 3 * MIN,
  ...overrides,
});

const declared = (overrides: Partial<Declaration> = {}): Incident =>
  declareIncident(declaration(overrides)).incident;

/** The change's incident, failing the test with the reason when it was refused. */
const applied = (change: Change): Incident => {
  if (!change.ok) throw new Error(`refused: ${change.reason}`);
  return change.incident;
};

const entry = (
  at: number,
  kind: TimelineEntry['kind'],
  text: string,
  extra: Partial<TimelineEntry> = {},
) => ({
  at,
  actor: 'azora',
  kind,
  text,
  ...extra,
});

const timelineOf = (...entries: TimelineEntry[]): Timeline => entries.reduce(appendEntry, emptyTimeline());

describe('the incidents policy', () => {
  it('ships the defaults, documented in the YAML, and takes them when the key is left out', () => {
    expect(POLICY.incidents).toEqual({
      channelPattern: 'inc-{date}-{slug}',
      severities: {
        sev1: { description: expect.any(String) },
        sev2: { description: expect.any(String) },
        sev3: { description: expect.any(String) },
      },
      fromAlertSeverity: { critical: 'sev1', warning: 'sev3' },
      pagerduty: ['sev1', 'sev2'],
      responders: [],
      statusNudge: { sev1: 30 * MIN },
      escalationPolicies: {},
    });
    const without = shipped.slice(0, shipped.indexOf('\n# Incidents:'));
    expect(without).not.toContain('incidents:\n');
    expect(parsePolicy(without, 'p.yaml').incidents).toEqual(POLICY.incidents);
  });

  it('takes a pattern of its own, per-severity nudges and escalation policies of known services', () => {
    const policy = parsePolicy(
      shipped
        .replace('channelPattern: inc-{date}-{slug}', "channelPattern: '{slug}_{date}'")
        .replace('statusNudge: { sev1: 30m }', 'statusNudge: { sev1: 15m, sev2: 1h }')
        .replace('# escalationPolicies: { payment: PABC123 }', 'escalationPolicies: { payment: PABC123 }')
        .replace('responders: []', 'responders: [S0SREGROUP, U0BOB]'),
      'p.yaml',
    );
    expect(policy.incidents).toMatchObject({
      channelPattern: '{slug}_{date}',
      statusNudge: { sev1: 15 * MIN, sev2: 60 * MIN },
      escalationPolicies: { payment: 'PABC123' },
      responders: ['S0SREGROUP', 'U0BOB'],
    });
  });

  it.each([
    ['channelPattern: inc-{date}-{slug}', 'channelPattern: inc-{date}', 'must hold {slug} exactly once'],
    [
      'channelPattern: inc-{date}-{slug}',
      'channelPattern: inc-{slug}-{slug}',
      'must hold {slug} exactly once',
    ],
    [
      'channelPattern: inc-{date}-{slug}',
      'channelPattern: inc-{sev}-{slug}',
      'the only placeholders are {date} and {slug}',
    ],
    [
      'channelPattern: inc-{date}-{slug}',
      'channelPattern: Inc-{date}-{slug}',
      'Slack channel names take lower-case letters, digits, - and _ only',
    ],
    [
      'channelPattern: inc-{date}-{slug}',
      'channelPattern: inc.{date}.{slug}',
      'Slack channel names take lower-case letters, digits, - and _ only',
    ],
    [
      'channelPattern: inc-{date}-{slug}',
      `channelPattern: ${'x'.repeat(52)}-{date}-{slug}`,
      'leaves too little room for the title: at most 60 characters besides {slug}',
    ],
  ])('names the field when %s becomes %s', (from, to, message) => {
    expect(shipped).toContain(from);
    expect(configError(shipped.replace(from, to))).toBe(
      `policy p.yaml: incidents.channelPattern: ${message}`,
    );
  });

  it.each([
    [
      'fromAlertSeverity: { critical: sev1, warning: sev3 }',
      'fromAlertSeverity: { critical: sev0, warning: sev3 }',
      'incidents.fromAlertSeverity.critical: Invalid option: expected one of "sev1"|"sev2"|"sev3"',
    ],
    [
      'pagerduty: [sev1, sev2]',
      'pagerduty: [sev1, p1]',
      'incidents.pagerduty.1: Invalid option: expected one of "sev1"|"sev2"|"sev3"',
    ],
    ['responders: []', 'responders: [sre]', 'incidents.responders.0: expected a Slack id starting with UWS'],
    [
      'statusNudge: { sev1: 30m }',
      'statusNudge: { sev1: 30s }',
      'incidents.statusNudge.sev1: nudge at most once a minute',
    ],
    [
      'statusNudge: { sev1: 30m }',
      'statusNudge: { sev1: soon }',
      "incidents.statusNudge.sev1: expected a duration such as 90s, 15m, 2h or 7d, got 'soon'",
    ],
    [
      'statusNudge: { sev1: 30m }',
      'statusNudge: { sev4: 30m }',
      'incidents.statusNudge: Unrecognized key: "sev4"',
    ],
    [
      '# escalationPolicies: { payment: PABC123 }',
      'escalationPolicies: { payments: PABC123 }',
      "incidents.escalationPolicies.payments: unknown service 'payments'",
    ],
    [
      '# escalationPolicies: { payment: PABC123 }',
      'escalationPolicies: { payment: on-call }',
      'incidents.escalationPolicies.payment: expected a PagerDuty id such as PABC123',
    ],
    [
      '    sev3:\n      description: Limited impact, nothing customers cannot work around\n',
      '',
      'incidents.severities.sev3: Invalid input: expected object, received undefined',
    ],
    ['  pagerduty: [sev1, sev2]', '  pager: [sev1, sev2]', 'incidents: Unrecognized key: "pager"'],
  ])('names the field when %s becomes %s', (from, to, message) => {
    expect(shipped).toContain(from);
    expect(configError(shipped.replace(from, to))).toBe(`policy p.yaml: ${message}`);
  });

  it('maps alert severities, falling back to sev3 for one it does not know', () => {
    expect(severityForAlert(POLICY.incidents, 'critical')).toBe('sev1');
    expect(severityForAlert(POLICY.incidents, 'warning')).toBe('sev3');
    expect(severityForAlert(POLICY.incidents, 'info')).toBe('sev3');
    expect(severityForAlert({ ...POLICY.incidents, fromAlertSeverity: { page: 'sev2' } }, 'page')).toBe(
      'sev2',
    );
  });

  it('pages sev1 and sev2, and finds each escalation policy once', () => {
    expect(['sev1', 'sev2', 'sev3'].map((s) => pagesPagerDuty(POLICY.incidents, s as 'sev1'))).toEqual([
      true,
      true,
      false,
    ]);
    const policy = {
      ...POLICY.incidents,
      escalationPolicies: { payment: 'PPAY', auth: 'PCORE', 'api-gateway': 'PCORE' },
    };
    expect(escalationPoliciesFor(policy, ['payment', 'auth', 'api-gateway', 'education'])).toEqual([
      'PPAY',
      'PCORE',
    ]);
    expect(escalationPoliciesFor(policy, [])).toEqual([]);
  });
});

describe('the incident channel name', () => {
  const pattern = POLICY.incidents.channelPattern;

  it('is the pattern with the UTC day and the title’s words', () => {
    expect(channelName(pattern, T0, 'Payment errors')).toBe('inc-20261202-payment-errors');
    // 23:30 in New York on 2 December is 3 December in UTC.
    expect(channelName(pattern, Date.parse('2026-12-02T23:30:00-05:00'), 'Payment errors')).toBe(
      'inc-20261203-payment-errors',
    );
    expect(channelName('{slug}_{date}', T0, 'DB down')).toBe('db-down_20261202');
  });

  it.each([
    ['Zahlungsfehler in Köln — Straße gesperrt', 'zahlungsfehler-in-koln-strasse-gesperrt'],
    ['Ｆｕｌｌｗｉｄｔｈ ﬁx, Æsir & Øresund', 'fullwidth-fix-aesir-oresund'],
    ['  --Payment__errors!!  (EU-west)  ', 'payment-errors-eu-west'],
    ['HTTP 500s on /api/pay', 'http-500s-on-api-pay'],
    ['İstanbul Łódź', 'istanbul-lodz'],
    ['🔥🔥 支付错误', ''],
    ['!!!', ''],
  ])('slugs %j as %j', (title, slug) => {
    expect(slugOf(title, 80)).toBe(slug);
  });

  it('is `incident` when nothing in the title is usable', () => {
    expect(channelName(pattern, T0, '🔥🔥 支付错误')).toBe('inc-20261202-incident');
    expect(channelName(pattern, T0, '')).toBe('inc-20261202-incident');
  });

  it('stays within 80 characters, cut at a word boundary when there is one', () => {
    const long = channelName(
      pattern,
      T0,
      'Payment errors for every customer in every region after the deploy of the new release',
    );
    expect(long).toBe('inc-20261202-payment-errors-for-every-customer-in-every-region-after-the-deploy');
    expect(long.length).toBeLessThanOrEqual(80);
    const word = channelName(pattern, T0, 'a'.repeat(200));
    expect(word).toBe(`inc-20261202-${'a'.repeat(67)}`);
    expect(word).toHaveLength(80);
  });

  it('takes the next free suffix when the name is taken, keeping within 80', () => {
    const taken = new Set(['inc-20261202-payment-errors', 'inc-20261202-payment-errors-2']);
    expect(channelName(pattern, T0, 'Payment errors', (n) => taken.has(n))).toBe(
      'inc-20261202-payment-errors-3',
    );
    const title = 'Payment errors for every customer in every region after the deploy of the new release';
    const first = channelName(pattern, T0, title);
    const second = channelName(pattern, T0, title, (n) => n === first);
    expect(second).toBe('inc-20261202-payment-errors-for-every-customer-in-every-region-after-the-2');
    expect(second.length).toBeLessThanOrEqual(80);
    const tight = channelName(pattern, T0, 'a'.repeat(200), (n) => !n.endsWith('-12'));
    expect(tight).toBe(`inc-20261202-${'a'.repeat(64)}-12`);
    expect(tight).toHaveLength(80);
    expect(channelName(pattern, T0, '', (n) => n === 'inc-20261202-incident')).toBe(
      'inc-20261202-incident-2',
    );
  });

  it('ends in a suffix of its own when asked for the name that cannot be taken, keeping within 80', () => {
    expect(channelName(pattern, T0, 'база данных недоступна', () => true, '1a2b3c4d')).toBe(
      'inc-20261202-incident-1a2b3c4d',
    );
    const long = channelName(pattern, T0, 'a'.repeat(200), () => true, '1a2b3c4d');
    expect(long).toBe(`inc-20261202-${'a'.repeat(58)}-1a2b3c4d`);
    expect(long).toHaveLength(80);
  });

  it('gives up with a reason when every suffix is taken', () => {
    const attempt = () => channelName(pattern, T0, 'Payment errors', () => true);
    expect(attempt).toThrow(Refusal);
    expect(attempt).toThrow(
      'inc-20261202-payment-errors and its numbered variants up to -99 are all taken (archived channels keep their names): choose another title',
    );
  });

  it('is always a name Slack takes', () => {
    const titles = ['x', '-', '__init__', 'ÀÉÎÕÜ', 'a-'.repeat(60), 'Ünïcödé '.repeat(20), '9'.repeat(100)];
    for (const title of titles) {
      for (const suffixFrom of [1, 2, 10]) {
        let n = 0;
        const name = channelName(pattern, T0, title, () => ++n < suffixFrom);
        expect(name).toMatch(SLACK_CHANNEL_NAME);
        expect(name).not.toMatch(/--|-$/);
      }
    }
  });
});

describe('an incident’s life', () => {
  it('starts investigating, commanded by whoever declared it, with one entry', () => {
    const { incident, entry: first } = declareIncident(
      declaration({
        title: ' Payment errors\nafter   deploy ',
        alertGroup: 'a1b2c3d4e5f60718',
        services: ['payment', 'payment'],
      }),
    );
    expect(incident).toEqual({
      id: 'i0a1b2c3',
      title: 'Payment errors after deploy',
      severity: 'sev1',
      status: 'investigating',
      environment: 'production',
      services: ['payment'],
      channel: 'C0INC1',
      channelName: 'inc-20261202-payment-errors-after-deploy',
      commander: 'U0ALICE',
      declaredBy: 'U0ALICE',
      declaredAt: T0 + 3 * MIN,
      alertGroups: ['a1b2c3d4e5f60718'],
      requests: [],
      lastStatusAt: T0 + 3 * MIN,
    });
    expect(first).toEqual({
      at: T0 + 3 * MIN,
      actor: 'U0ALICE',
      kind: 'status',
      text: 'Declared SEV1: Payment errors after deploy',
      key: 'declared:i0a1b2c3',
    });
  });

  it('bounds a title and refuses an empty one', () => {
    const long = incidentTitle('word '.repeat(100));
    expect(long).toHaveLength(TITLE_MAX);
    expect(long.endsWith('…')).toBe(true);
    // An alert's summary of emoji (the Declare button's title) is cut between characters.
    const emoji = incidentTitle(`AzoraHighErrorRate: ${'🔥'.repeat(200)}`);
    expect(emoji.length).toBeLessThanOrEqual(TITLE_MAX);
    expect(emoji).toMatch(/^AzoraHighErrorRate: (🔥)+…$/u);
    expect(() => declared({ title: ' \n\t ' })).toThrow(
      new Refusal('input', 'an incident needs a title: what is wrong, in a few words'),
    );
  });

  it('moves between the open statuses in any order, each an update', () => {
    const incident = declared();
    const identified = changeStatus(incident, 'identified', 'U0BOB', T0 + 10 * MIN);
    expect(identified).toEqual({
      ok: true,
      incident: { ...incident, status: 'identified', lastStatusAt: T0 + 10 * MIN },
      entry: { at: T0 + 10 * MIN, actor: 'U0BOB', kind: 'status', text: 'Investigating → Identified' },
    });
    const monitoring = applied(changeStatus(applied(identified), 'monitoring', 'U0BOB', T0 + 20 * MIN));
    // The fix did not hold.
    const back = changeStatus(monitoring, 'investigating', 'U0BOB', T0 + 25 * MIN);
    expect(back.ok && back.entry.text).toBe('Monitoring → Investigating');
    // Saying the status again answers a nudge.
    const still = changeStatus(monitoring, 'monitoring', 'U0ALICE', T0 + 50 * MIN);
    expect(still).toMatchObject({
      ok: true,
      incident: { status: 'monitoring', lastStatusAt: T0 + 50 * MIN },
      entry: { text: 'Still monitoring' },
    });
  });

  it('resolves only with a summary, through its own command', () => {
    const incident = declared();
    expect(changeStatus(incident, 'resolved', 'U0ALICE', T0 + 9 * MIN)).toEqual({
      ok: false,
      reason: 'resolving takes a summary: incident resolve <summary>',
    });
    expect(resolveIncident(incident, '  \n ', 'U0ALICE', T0 + 9 * MIN)).toEqual({
      ok: false,
      reason: 'say in a few words what resolved it: incident resolve <summary>',
    });
    const resolved = resolveIncident(incident, 'Rolled back\npayment to v1.4.1', 'U0ALICE', T0 + 72 * MIN);
    expect(resolved).toEqual({
      ok: true,
      incident: {
        ...incident,
        status: 'resolved',
        resolvedAt: T0 + 72 * MIN,
        resolution: 'Rolled back payment to v1.4.1',
        resolvedBy: 'U0ALICE',
        lastStatusAt: T0 + 72 * MIN,
      },
      entry: {
        at: T0 + 72 * MIN,
        actor: 'U0ALICE',
        kind: 'status',
        text: 'Resolved: Rolled back payment to v1.4.1',
        key: 'resolved:i0a1b2c3',
      },
    });
  });

  it('refuses every change once resolved: resolved is final', () => {
    const resolved = applied(resolveIncident(declared(), 'fixed', 'U0ALICE', T0 + 72 * MIN));
    const reason =
      'the incident was resolved at 2026-12-02 15:12 UTC, and resolved is final: if it is back, declare a new one';
    expect(changeStatus(resolved, 'investigating', 'U0BOB', T0 + 80 * MIN)).toEqual({ ok: false, reason });
    expect(changeSeverity(resolved, 'sev2', 'U0BOB', T0 + 80 * MIN)).toEqual({ ok: false, reason });
    expect(changeCommander(resolved, 'U0BOB', 'U0BOB', T0 + 80 * MIN)).toEqual({ ok: false, reason });
    expect(resolveIncident(resolved, 'again', 'U0BOB', T0 + 80 * MIN)).toEqual({ ok: false, reason });
  });

  it('changes severity and commander, each a status update, refusing what changes nothing', () => {
    const incident = declared({ severity: 'sev2' });
    expect(changeSeverity(incident, 'sev1', 'U0BOB', T0 + 30 * MIN)).toEqual({
      ok: true,
      incident: { ...incident, severity: 'sev1', lastStatusAt: T0 + 30 * MIN },
      entry: { at: T0 + 30 * MIN, actor: 'U0BOB', kind: 'severity', text: 'SEV2 → SEV1' },
    });
    expect(changeSeverity(incident, 'sev2', 'U0BOB', T0)).toEqual({
      ok: false,
      reason: 'it is SEV2 already',
    });
    expect(changeCommander(incident, 'U0BOB', 'U0ALICE', T0 + 31 * MIN)).toEqual({
      ok: true,
      incident: { ...incident, commander: 'U0BOB', lastStatusAt: T0 + 31 * MIN },
      entry: { at: T0 + 31 * MIN, actor: 'U0ALICE', kind: 'commander', text: '<@U0ALICE> → <@U0BOB>' },
    });
    expect(changeCommander(incident, 'U0ALICE', 'U0ALICE', T0)).toEqual({
      ok: false,
      reason: 'U0ALICE is the commander already',
    });
    expect(changeCommander(incident, 'S0SREGROUP', 'U0ALICE', T0)).toEqual({
      ok: false,
      reason: 'the commander is one person: @someone, not a group',
    });
  });

  it('keeps the first acknowledgement and the first change that worked, until resolved', () => {
    let incident = declared();
    for (const e of [
      entry(T0 + 8 * MIN, 'acknowledge', 'acknowledged'),
      entry(T0 + 5 * MIN, 'acknowledge', 'acknowledged in PagerDuty'),
      entry(T0 + 9 * MIN, 'change-failed', 'rollback failed'),
      entry(T0 + 12 * MIN, 'change-succeeded', 'rollback'),
      entry(T0 + 14 * MIN, 'change-succeeded', 'scale'),
      entry(T0 + 15 * MIN, 'note', 'looks better'),
    ])
      incident = applyEntry(incident, e);
    expect(incident).toMatchObject({ acknowledgedAt: T0 + 5 * MIN, mitigatedAt: T0 + 12 * MIN });
    const resolved = applied(resolveIncident(declared(), 'fixed', 'U0ALICE', T0 + 20 * MIN));
    expect(applyEntry(resolved, entry(T0 + 21 * MIN, 'change-succeeded', 'late'))).toBe(resolved);
  });

  it('links alert groups and requests once, up to a bound', () => {
    let incident = link(declared({ alertGroup: 'g1' }), 'alertGroups', 'g1');
    expect(incident.alertGroups).toEqual(['g1']);
    incident = link(incident, 'requests', 'r0000abcd');
    expect(incident.requests).toEqual(['r0000abcd']);
    for (let i = 0; i < LINKS_MAX + 5; i++) incident = link(incident, 'alertGroups', `g${i + 2}`);
    expect(incident.alertGroups).toHaveLength(LINKS_MAX);
    expect(incident.alertGroups[0]).toBe('g1');
  });
});

describe('the timeline', () => {
  it('keeps entries by time, a late one in its place, a repeated one once', () => {
    const timeline = timelineOf(
      entry(T0 + 2 * MIN, 'note', 'b'),
      entry(T0, 'alert-opened', 'a'),
      entry(T0 + 2 * MIN, 'note', 'c'),
      entry(T0 + 1 * MIN, 'pin', 'pinned', { key: 'pin:1733140000.000100' }),
      entry(T0 + 5 * MIN, 'pin', 'pinned again', { key: 'pin:1733140000.000100' }),
    );
    expect(timeline.entries.map((e) => e.text)).toEqual(['a', 'pinned', 'b', 'c']);
    expect(timeline.omitted).toBe(0);
    expect(appendEntry(timeline, entry(T0, 'pin', 'x', { key: 'pin:1733140000.000100' }))).toBe(timeline);
  });

  it('bounds what an entry says', () => {
    const [long] = timelineOf(entry(T0, 'note', 'x'.repeat(5_000))).entries;
    expect(long!.text).toHaveLength(ENTRY_TEXT_MAX);
    expect(long!.text.endsWith('…')).toBe(true);
  });

  it(`keeps the first ${TIMELINE_HEAD} and the newest past ${TIMELINE_CAP}, counting what it drops`, () => {
    let timeline = emptyTimeline();
    for (let i = 0; i < 600; i++) timeline = appendEntry(timeline, entry(T0 + i * 1_000, 'note', `n${i}`));
    expect(timeline.entries).toHaveLength(TIMELINE_CAP);
    expect(timeline.omitted).toBe(100);
    const texts = timeline.entries.map((e) => e.text);
    expect(texts.slice(0, TIMELINE_HEAD)).toEqual(Array.from({ length: TIMELINE_HEAD }, (_, i) => `n${i}`));
    expect(texts.slice(TIMELINE_HEAD)).toEqual(Array.from({ length: 450 }, (_, i) => `n${i + 150}`));
    // One from the dropped middle, arriving late, goes with it.
    const late = appendEntry(timeline, entry(T0 + 100 * 1_000, 'note', 'late'));
    expect(late.entries).toEqual(timeline.entries);
    expect(late.omitted).toBe(101);
    // One from the first minutes, arriving late, joins the head; the head's last moves into the gap.
    const early = appendEntry(timeline, entry(T0 + 500, 'acknowledge', 'early'));
    expect(early.entries.slice(0, 3).map((e) => e.text)).toEqual(['n0', 'early', 'n1']);
    expect(early.entries[TIMELINE_HEAD - 1]!.text).toBe('n48');
    expect(early.entries[TIMELINE_HEAD]!.text).toBe('n150');
    expect(early.omitted).toBe(101);
  });

  it('is shown newest last, at most the last 30 entries, escaped, each section within Slack’s limit', () => {
    let timeline = emptyTimeline();
    for (let i = 0; i < 600; i++)
      timeline = appendEntry(timeline, entry(T0 + i * 1_000, 'note', `n${i} <!here> ${'x'.repeat(900)}`));
    const shown = timelineMessage(declared(), timeline);
    const sections = shown.blocks.filter((b) => b.type === 'section').slice(1);
    const lines = sections.flatMap((b) => ('text' in b && b.text ? b.text.text.split('\n') : []));
    expect(lines).toHaveLength(TIMELINE_SHOWN);
    expect(lines[0]).toContain('n570 &lt;!here&gt;');
    expect(lines.at(-1)).toContain('n599');
    for (const b of sections) expect('text' in b && b.text!.text.length).toBeLessThanOrEqual(3_000);
    expect(JSON.stringify(shown.blocks.at(-1))).toContain('570 earlier entries');
  });

  it('shows what it kept as its words: a commander change’s people as mentions, others’ as text, a plan’s date and ampersand once', () => {
    const plan = planText([
      {
        kind: 'maintenance',
        service: 'production',
        action: 'schedule',
        start: Date.UTC(2026, 11, 6, 2),
        durationMs: 2 * 60 * MIN,
        reason: 'R&D failover <!channel>',
      } as PlanStep,
    ]);
    expect(plan).toBe(
      '*production*: maintenance on short notice, 2026-12-06T02:00:00Z for 2h: R&D failover <!channel>',
    );
    let timeline = emptyTimeline();
    timeline = appendEntry(timeline, entry(T0, 'commander', '<@U0ALICE> → <@U0BOB>'));
    timeline = appendEntry(timeline, entry(T0 + 1_000, 'request', `requested r0000beef: ${plan}`));
    // An alert's summary or a pinned message quoting one names someone: shown, never pinged.
    timeline = appendEntry(timeline, entry(T0 + 2_000, 'pin', 'ask <@U0CEO> about it'));
    const shown = JSON.stringify(timelineMessage(declared(), timeline).blocks);
    expect(shown).toContain('<@U0ALICE> → <@U0BOB>');
    expect(shown).toContain('ask &lt;@U0CEO&gt; about it');
    expect(shown).toContain('for 2h: R&amp;D failover &lt;!channel&gt;');
    expect(shown).not.toContain('&amp;amp;');
    expect(shown).not.toContain('&lt;!date');
  });

  it('lists every open incident, however long their titles, in sections Slack takes', () => {
    const open = Array.from({ length: 30 }, (_, i) =>
      declared({ id: `i${i}`, title: `t${String(i).padStart(2, '0')} ${'long title '.repeat(18)}` }),
    );
    const list = incidentListMessage(open);
    expect(checkMessage({ ...list })).toBeUndefined();
    expect(JSON.stringify(list.blocks[0])).toContain('"text":"*Open*\\n:rotating_light: SEV1');
    const shown = JSON.stringify(list.blocks);
    for (let i = 0; i < 30; i++) expect(shown).toContain(`t${String(i).padStart(2, '0')} long title`);
  });

  describe('takes the bot’s events', () => {
    const base = declared({ alertGroup: 'g1' });
    it.each([
      ['of its environment and services', base, { environment: 'production', service: 'payment' }, true],
      ['of the environment as a whole', base, { environment: 'production' }, true],
      ['not of another service', base, { environment: 'production', service: 'auth' }, false],
      ['not of another environment', base, { environment: 'staging', service: 'payment' }, false],
      ['of a linked alert group, wherever', base, { environment: 'staging', alertGroup: 'g1' }, true],
      ['of a linked request', { ...base, requests: ['r1'] }, { request: 'r1' }, true],
      [
        'of any service when it names none',
        { ...base, services: [] },
        { environment: 'production', service: 'auth' },
        true,
      ],
      [
        'of its services in any environment when it names none',
        { ...base, environment: undefined },
        { environment: 'staging', service: 'payment' },
        true,
      ],
      [
        'not of a whole environment when it names none',
        { ...base, environment: undefined },
        { environment: 'staging' },
        false,
      ],
      [
        'only what is linked when it names nothing',
        { ...base, environment: undefined, services: [] },
        { environment: 'production', service: 'payment' },
        false,
      ],
      [
        'nothing once resolved',
        { ...base, status: 'resolved' },
        { environment: 'production', service: 'payment', alertGroup: 'g1' },
        false,
      ],
    ] as const)('%s', (_what, incident, event, expected) => {
      expect(concerns(incident as Incident, event)).toBe(expected);
    });
  });
});

describe('the status nudge', () => {
  const policy = POLICY.incidents;

  it('comes after 30 minutes without an update, then once per interval', () => {
    let incident = declared({ at: T0 });
    expect(nextNudgeAt(incident, policy)).toBe(T0 + 30 * MIN);
    expect(nudgeDue(incident, policy, T0 + 29 * MIN)).toBe(false);
    expect(nudgeDue(incident, policy, T0 + 30 * MIN)).toBe(true);
    incident = { ...incident, nudgedAt: T0 + 30 * MIN };
    expect(nudgeDue(incident, policy, T0 + 31 * MIN)).toBe(false);
    expect(nudgeDue(incident, policy, T0 + 59 * MIN)).toBe(false);
    expect(nudgeDue(incident, policy, T0 + 60 * MIN)).toBe(true);
    // An update restarts the interval.
    incident = applied(changeStatus(incident, 'identified', 'U0ALICE', T0 + 50 * MIN));
    expect(nextNudgeAt(incident, policy)).toBe(T0 + 80 * MIN);
  });

  it('comes once, not once per missed interval, after the scheduler was away', () => {
    let incident = declared({ at: T0 });
    expect(nudgeDue(incident, policy, T0 + 95 * MIN)).toBe(true);
    incident = { ...incident, nudgedAt: T0 + 95 * MIN };
    expect(nudgeDue(incident, policy, T0 + 96 * MIN)).toBe(false);
    expect(nextNudgeAt(incident, policy)).toBe(T0 + 125 * MIN);
  });

  it('follows the severity, and stops when resolved', () => {
    const sev2 = declared({ at: T0, severity: 'sev2' });
    expect(nextNudgeAt(sev2, policy)).toBeUndefined();
    expect(nudgeDue(sev2, policy, T0 + 24 * 60 * MIN)).toBe(false);
    expect(nextNudgeAt(sev2, { statusNudge: { sev2: 60 * MIN } })).toBe(T0 + 60 * MIN);
    // Raised to sev1, the interval counts from the change.
    const raised = applied(changeSeverity(sev2, 'sev1', 'U0ALICE', T0 + 45 * MIN));
    expect(nextNudgeAt(raised, policy)).toBe(T0 + 75 * MIN);
    const resolved = applied(resolveIncident(declared({ at: T0 }), 'fixed', 'U0ALICE', T0 + 10 * MIN));
    expect(nudgeDue(resolved, policy, T0 + 600 * MIN)).toBe(false);
  });
});

describe('the metrics', () => {
  it('count from the first alert: acknowledge, first change that worked, resolve', () => {
    const incident = applied(resolveIncident(declared(), 'fixed', 'U0ALICE', T0 + 72 * MIN));
    const timeline = timelineOf(
      entry(T0, 'alert-opened', 'AzoraHighErrorRate'),
      entry(T0 + 3 * MIN, 'status', 'Declared SEV1'),
      entry(T0 + 9 * MIN, 'change-failed', 'scale'),
      entry(T0 + 12 * MIN, 'change-succeeded', 'rollback'),
      entry(T0 + 30 * MIN, 'change-succeeded', 'switch'),
    );
    expect(metrics(incident, timeline)).toEqual({
      startedAt: T0,
      // Declaring (at 3 minutes) is acknowledging.
      acknowledgedAt: T0 + 3 * MIN,
      toAcknowledge: 3 * MIN,
      mitigatedAt: T0 + 12 * MIN,
      toMitigate: 12 * MIN,
      resolvedAt: T0 + 72 * MIN,
      toResolve: 72 * MIN,
    });
    // An acknowledgement before the declaration counts.
    const acked = metrics(incident, appendEntry(timeline, entry(T0 + 1 * MIN, 'acknowledge', 'ack')));
    expect(acked.toAcknowledge).toBe(1 * MIN);
  });

  it('leave out what did not happen', () => {
    const incident = declared();
    expect(metrics(incident, emptyTimeline())).toEqual({
      startedAt: incident.declaredAt,
      acknowledgedAt: incident.declaredAt,
      toAcknowledge: 0,
    });
    // An alert opening after the declaration does not move the start.
    expect(metrics(incident, timelineOf(entry(T0 + 10 * MIN, 'alert-opened', 'later'))).startedAt).toBe(
      T0 + 3 * MIN,
    );
  });

  it('count from the opening of the alert it was declared from, which its timeline never saw', () => {
    // Declared (at T0 + 3 min) from an alert that opened at T0: the timeline starts at the declaration.
    const incident = declared({ alertGroup: 'g1', alertOpenedAt: T0 });
    expect(incident.alertOpenedAt).toBe(T0);
    expect(metrics(incident, emptyTimeline())).toMatchObject({ startedAt: T0, toAcknowledge: 3 * MIN });
    // An opening after the declaration (a clock ahead) is not kept.
    expect(declared({ alertGroup: 'g1', alertOpenedAt: T0 + 4 * MIN }).alertOpenedAt).toBeUndefined();
  });

  it('use what the incident kept when the timeline dropped it', () => {
    const incident = { ...declared(), acknowledgedAt: T0 + 4 * MIN, mitigatedAt: T0 + 6 * MIN };
    const timeline = timelineOf(
      entry(T0, 'alert-opened', 'a'),
      entry(T0 + 20 * MIN, 'change-succeeded', 'later'),
    );
    expect(metrics(incident, timeline)).toMatchObject({ toAcknowledge: 3 * MIN, toMitigate: 6 * MIN });
  });
});

describe('the pinned summary and the topic', () => {
  it('are data: status, severity, commander, what it is about and what is linked', () => {
    const incident = {
      ...declared({
        alertGroup: 'g1',
        pagerduty: { id: 'Q1ABC', url: 'https://azora.pagerduty.com/incidents/Q1ABC' },
      }),
      requests: ['r0000abcd'],
    };
    expect(summaryText(incident)).toEqual({
      title: 'Payment errors after deploy',
      severity: 'sev1',
      status: 'investigating',
      fields: [
        { label: 'Status', values: [{ text: 'Investigating' }] },
        { label: 'Severity', values: [{ text: 'SEV1' }] },
        { label: 'Commander', values: [{ user: 'U0ALICE' }] },
        { label: 'Declared', values: [{ user: 'U0ALICE' }, { at: T0 + 3 * MIN }] },
        { label: 'Environment', values: [{ text: 'production' }] },
        { label: 'Services', values: [{ text: 'payment' }] },
        { label: 'Alert groups', values: [{ text: 'g1' }] },
        {
          label: 'PagerDuty',
          values: [{ text: 'Q1ABC', url: 'https://azora.pagerduty.com/incidents/Q1ABC' }],
        },
        { label: 'Requests', values: [{ text: 'r0000abcd' }] },
      ],
    });
    const resolved = applied(
      resolveIncident(declared({ environment: undefined }), 'fixed it', 'U0ALICE', T0 + 9 * MIN),
    );
    const fields = summaryText(resolved).fields;
    expect(fields.find((f) => f.label === 'Environment')).toEqual({ label: 'Environment', values: [] });
    expect(fields.slice(-2)).toEqual([
      { label: 'Resolved', values: [{ at: T0 + 9 * MIN }] },
      { label: 'Resolution', values: [{ text: 'fixed it' }] },
    ]);
  });

  it('puts severity, status and commander in the topic, the title last', () => {
    expect(topicText(declared())).toBe(
      'SEV1 · Investigating · Commander <@U0ALICE> · Payment errors after deploy',
    );
  });

  it('keeps the topic within 250 characters, escaped, never cut inside an escape or a character', () => {
    const long = topicText({ ...declared(), title: 'Payment <errors> & timeouts '.repeat(10) });
    expect(long.length).toBeLessThanOrEqual(TOPIC_MAX);
    expect(long.endsWith('…')).toBe(true);
    expect(long.replace('<@U0ALICE>', '')).not.toMatch(/[<>]/);
    expect(long).toMatch(/ &lt;errors&gt; &amp; /);
    expect(long).not.toMatch(/&[a-z]*…$/);
    const emoji = topicText({ ...declared(), title: '🔥'.repeat(200) });
    expect(emoji.length).toBeLessThanOrEqual(TOPIC_MAX);
    expect(emoji).not.toMatch(/[\uD800-\uDBFF]…$/);
  });
});

describe('the postmortem draft', () => {
  /** A small sev1: an error-rate alert, declared, acknowledged, a failed then a working rollback, resolved. */
  function smallIncident(): { incident: Incident; timeline: Timeline } {
    const start = declareIncident(
      declaration({
        alertGroup: 'g1a2b3',
        pagerduty: { id: 'Q1ABC', url: 'https://azora.pagerduty.com/incidents/Q1ABC' },
      }),
    );
    let incident = link(start.incident, 'requests', 'r0000abcd');
    let timeline = timelineOf(
      entry(T0, 'alert-opened', 'AzoraHighErrorRate: payment error rate above 5%', {
        actor: 'alertmanager',
        link: 'https://slack.example/archives/C0INCIDENTS/p1',
      }),
      start.entry,
      entry(T0 + 5 * MIN, 'acknowledge', 'Acknowledged in PagerDuty', { actor: 'pagerduty' }),
      entry(T0 + 8 * MIN, 'request', 'U0BOB asks: rollback payment in production', {
        actor: 'U0BOB',
        link: 'https://slack.example/archives/C0INC1/p2',
      }),
      entry(T0 + 9 * MIN, 'approval', 'approved rollback payment in production', { actor: 'U0ALICE' }),
      entry(T0 + 10 * MIN, 'change-failed', 'rollback payment in production: green not ready', {
        actor: 'azora',
      }),
      entry(T0 + 12 * MIN, 'change-succeeded', 'rollback payment in production: v1.4.1 live', {
        actor: 'azora',
        link: 'https://slack.example/archives/C0INC1/p3',
      }),
      entry(T0 + 13 * MIN, 'note', 'Errors | timeouts back to normal\n<!-- see graphs', { actor: 'U0BOB' }),
    );
    for (const change of [
      changeStatus(incident, 'monitoring', 'U0ALICE', T0 + 14 * MIN),
      changeCommander(incident, 'U0BOB', 'U0ALICE', T0 + 20 * MIN),
    ]) {
      incident = applied(change);
      if (change.ok) timeline = appendEntry(timeline, change.entry);
    }
    timeline = appendEntry(
      timeline,
      entry(T0 + 30 * MIN, 'alert-resolved', 'AzoraHighErrorRate', { actor: 'alertmanager' }),
    );
    const resolved = resolveIncident(
      incident,
      'Rolled back payment to v1.4.1; error rate under 1%.',
      'U0BOB',
      T0 + 72 * MIN,
    );
    if (!resolved.ok) throw new Error(resolved.reason);
    return { incident: resolved.incident, timeline: appendEntry(timeline, resolved.entry) };
  }

  it('is the golden draft for a small incident', () => {
    const { incident, timeline } = smallIncident();
    const markdown = postmortemMarkdown(incident, timeline, {
      channel: 'https://slack.example/archives/C0INC1',
      request: (id) => `https://slack.example/requests/${id}`,
      people: { U0ALICE: 'Alice', U0BOB: 'Bob' },
    });
    expect(markdown).toBe(GOLDEN);
  });

  it('keeps its structure whatever the title, notes and links hold', () => {
    const { incident, timeline } = smallIncident();
    const hostile = {
      ...incident,
      title: 'Pay | ment\n## errors #',
      resolution: 'a \\| b\n- not a list',
      services: ['payment'],
    };
    const noted = appendEntry(
      appendEntry(timeline, entry(T0 + 40 * MIN, 'note', 'trailing \\', { link: 'javascript:alert(1)' })),
      entry(T0 + 41 * MIN, 'change-succeeded', 'odd | link', { link: 'https://x.example/a(b)|c[d]' }),
    );
    const markdown = postmortemMarkdown(hostile, noted);
    expect(markdown.split('\n')[0]).toBe('# Postmortem: Pay \\| ment \\#\\# errors \\#');
    expect(markdown).toContain('- **Resolution:** a \\\\\\| b - not a list\n');
    const rows = markdown.split('\n').filter((l) => l.startsWith('| 2026'));
    expect(rows).toHaveLength(timeline.entries.length + 2);
    // Every row has exactly its four cell separators: escaped pipes are text.
    for (const row of rows) expect(row.replace(/\\\\/g, '').match(/(?<!\\)\|/g)).toHaveLength(4);
    expect(markdown).toContain('| Note: trailing \\\\ |');
    expect(markdown).not.toContain('javascript:');
    expect(
      postmortemMarkdown({ ...incident, pagerduty: { id: 'Q1', url: 'https://x.example/a b' } }, timeline),
    ).toContain('- **PagerDuty:** Q1\n');
    expect(markdown).toContain(
      'Change succeeded: odd \\| link ([link](https://x.example/a%28b%29%7Cc%5Bd%5D))',
    );
  });

  it('says where the timeline dropped entries', () => {
    const { incident } = smallIncident();
    let timeline = emptyTimeline();
    for (let i = 0; i < 520; i++) timeline = appendEntry(timeline, entry(T0 + i * 1_000, 'note', `n${i}`));
    const rows = postmortemMarkdown(incident, timeline)
      .split('\n')
      .filter((l) => l.startsWith('| 2026') || l.startsWith('| …'));
    expect(rows[TIMELINE_HEAD]).toBe(
      '| … | | _20 entries here are not kept: a timeline keeps its first 50 and its newest 450_ |',
    );
    expect(rows).toHaveLength(TIMELINE_CAP + 1);
  });

  it('says what did not happen rather than leave it out', () => {
    const incident = declared({ environment: undefined, services: [] });
    const markdown = postmortemMarkdown(incident, emptyTimeline());
    expect(markdown).toContain('- **Resolved:** not yet (investigating)\n');
    expect(markdown).toContain('- **Environment:** not named\n- **Services:** none named\n');
    expect(markdown).toContain('- **Time to mitigate:** no change succeeded through the bot\n');
    expect(markdown).toContain('- **Time to resolve:** not resolved\n');
    expect(markdown).toContain('## Actions\n\n_No action went through the bot._\n');
  });
});

/** The draft of smallIncident(), read and checked by hand: change it only on purpose. */
const GOLDEN = `# Postmortem: Payment errors after deploy

_A draft written by azora-chatops from the incident’s timeline: check it, and complete the impact and the follow-ups._

## Summary

- **Severity:** SEV1
- **Declared:** 2026-12-02 14:03 UTC by Alice
- **Resolved:** 2026-12-02 15:12 UTC
- **Commander:** Bob
- **Channel:** [#inc-20261202-payment-errors-after-deploy](https://slack.example/archives/C0INC1)
- **PagerDuty:** [Q1ABC](https://azora.pagerduty.com/incidents/Q1ABC)
- **Alert groups:** g1a2b3
- **Requests:** [r0000abcd](https://slack.example/requests/r0000abcd)
- **Resolution:** Rolled back payment to v1.4.1; error rate under 1%.

## Impact

- **Environment:** production
- **Services:** payment
- **Started:** 2026-12-02 14:00 UTC (the first alert)
- **Time to acknowledge:** 3m
- **Time to mitigate:** 12m
- **Time to resolve:** 1h12m
- **Who was affected, and how:**

## Timeline

All times UTC.

| Time | Who | What |
| --- | --- | --- |
| 2026-12-02 14:00 | alertmanager | Alert opened: AzoraHighErrorRate: payment error rate above 5% ([link](https://slack.example/archives/C0INCIDENTS/p1)) |
| 2026-12-02 14:03 | Alice | Status: Declared SEV1: Payment errors after deploy |
| 2026-12-02 14:05 | pagerduty | Acknowledged: Acknowledged in PagerDuty |
| 2026-12-02 14:08 | Bob | Request: Bob asks: rollback payment in production ([link](https://slack.example/archives/C0INC1/p2)) |
| 2026-12-02 14:09 | Alice | Approval: approved rollback payment in production |
| 2026-12-02 14:10 | azora | Change failed: rollback payment in production: green not ready |
| 2026-12-02 14:12 | azora | Change succeeded: rollback payment in production: v1.4.1 live ([link](https://slack.example/archives/C0INC1/p3)) |
| 2026-12-02 14:13 | Bob | Note: Errors \\| timeouts back to normal \\<!-- see graphs |
| 2026-12-02 14:14 | Alice | Status: Investigating → Monitoring |
| 2026-12-02 14:20 | Alice | Commander: @Alice → @Bob |
| 2026-12-02 14:30 | alertmanager | Alert resolved: AzoraHighErrorRate |
| 2026-12-02 15:12 | Bob | Status: Resolved: Rolled back payment to v1.4.1; error rate under 1%. |

## Actions

- 2026-12-02 14:08 UTC, Bob: Request: Bob asks: rollback payment in production ([link](https://slack.example/archives/C0INC1/p2))
- 2026-12-02 14:09 UTC, Alice: Approval: approved rollback payment in production
- 2026-12-02 14:10 UTC, azora: Change failed: rollback payment in production: green not ready
- 2026-12-02 14:12 UTC, azora: Change succeeded: rollback payment in production: v1.4.1 live ([link](https://slack.example/archives/C0INC1/p3))

## Follow-ups

| Follow-up | Owner | Due |
| --- | --- | --- |
| | | |
`;
