import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SimulatedPagerDuty, simulatedId } from '../../sandbox/pagerduty';
import { actionId } from '../../src/kernel/slack/actions';
import { nudgeIfDue } from '../../src/incidents/nudge';
import { addNote, update } from '../../src/incidents/run';
import { startTestBot, type TestBot } from '../kit/bot';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import {
  firedAgain,
  firingNotification,
  postNotification,
  resolvedNotification,
  untilSettled,
} from '../kit/flows';
import { APPROVER, BYSTANDER, SECOND_APPROVER, ENGINEER, ONCALL, OPS, PROD, WEBHOOK_TOKEN } from '../kit/ids';
import { sendButtonClick, sendSlashCommand } from '../kit/slack-requests';
import { waitFor } from '../kit/wait';
import { testPolicy } from '../kit/policy';

/** `/azora …` typed by `user` in `channel`, signed, as Slack sends it. */
const slashAs = (t: TestBot, user: string, text: string, channel: string) =>
  sendSlashCommand(t.url, t.secret, { text, user, channel, responseUrl: t.slack.responseUrl(channel, user) });

/**
 * Incidents through signed slash commands against the real bot and the simulated Slack:
 * declared into a channel of their own, run from it, resolved with a postmortem file.
 */
describe('incidents, end to end', () => {
  let t: TestBot;

  beforeEach(async () => {
    t = await startTestBot();
  });
  afterEach(async () => {
    await t?.stop();
  });

  const slash = async (user: string, text: string, channel = OPS) => {
    const res = await sendSlashCommand(t.url, t.secret, {
      text,
      user,
      channel,
      responseUrl: t.slack.responseUrl(channel, user),
    });
    expect(res.status).toBe(200);
  };
  const answerTo = (user: string, fragment: string) =>
    waitFor(
      () =>
        t.slack.messages.filter((m) => m.visibleTo === user && m.text.includes(fragment)).map((m) => m.text),
      (texts) => texts.length > 0,
      { what: `an answer to ${user} containing ${fragment}` },
    ).then((texts) => texts.at(-1)!);
  const declareOne = async (title: string, severity = 'sev2') => {
    const declared = `${severity.toUpperCase()} declared`;
    const before = t.slack.messages.filter(
      (m) => m.visibleTo === ENGINEER && m.text.includes(declared),
    ).length;
    await slash(ENGINEER, `incident declare ${severity} ${title}`);
    const answer = await waitFor(
      () => t.slack.messages.filter((m) => m.visibleTo === ENGINEER && m.text.includes(declared)),
      (answers) => answers.length > before,
      { what: 'the declaration' },
    );
    const channelId = /<#([CG][A-Z0-9]+)>/.exec(answer.at(-1)!.text)![1]!;
    const incident = (await t.bot.deps.incidents.ofChannel(channelId))!;
    return { incident, channel: t.slack.channel(channelId)! };
  };

  it('declares into a channel of its own: named by the pattern, topic set, declarer in, summary pinned', async () => {
    const { incident, channel } = await declareOne('Payment errors after the deploy');
    expect(channel.name).toMatch(/^inc-\d{8}-payment-errors-after-the-deploy$/);
    expect(channel.topic.value).toContain('SEV2 · Investigating');
    expect(channel.members).toContain(ENGINEER);
    const pins = t.slack.pins(channel.id);
    expect(pins).toHaveLength(1);
    const summary = t.slack.messages.find((m) => m.ts === pins[0]!.ts)!;
    expect(summary.text).toContain('SEV2 · Investigating');
    expect(incident).toMatchObject({ severity: 'sev2', status: 'investigating', commander: ENGINEER });
  });

  it('invites the members of a responders user group, as the policy says it does', async () => {
    await t.stop();
    const policy = testPolicy();
    t = await startTestBot({
      policy: { ...policy, incidents: { ...policy.incidents, responders: ['S0RESPOND'] } },
      slack: { userGroups: { S0RESPOND: [SECOND_APPROVER] } },
    });
    const { channel } = await declareOne('Checkout errors');
    expect(channel.members).toEqual(expect.arrayContaining([ENGINEER, SECOND_APPROVER]));
  });

  it('takes the next free name when the pattern’s is taken', async () => {
    const first = await declareOne('db down');
    const second = await declareOne('db down');
    expect(second.channel.name).toBe(`${first.channel.name}-2`);
  });

  it('takes a name of its own when the first few are all taken, rather than refuse to declare', async () => {
    // A title Slack cannot spell is `incident` every time; a busy day has used its numbers.
    const day = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    for (const n of ['', '-2', '-3', '-4'])
      t.slack.addChannel({ name: `inc-${day}-incident${n}`, archived: n !== '' });
    const { incident, channel } = await declareOne('база данных недоступна');
    expect(channel.name).toBe(`inc-${day}-incident-${incident.id.slice(1)}`);
  });

  it('is run from its channel: status, commander, notes; the topic and the pinned summary follow', async () => {
    const { incident, channel } = await declareOne('Checkout latency');
    await slash(ENGINEER, 'incident status identified', channel.id);
    await waitFor(
      () => t.slack.channel(channel.id)!.topic.value,
      (topic) => topic.includes('Identified'),
      { what: 'the topic to follow the status' },
    );
    await slash(ENGINEER, `incident commander <@${APPROVER}|jonas>`, channel.id);
    await waitFor(
      async () => (await t.bot.deps.incidents.get(incident.id))?.commander,
      (commander) => commander === APPROVER,
      { what: 'the new commander' },
    );
    // Said in the channel with both people as mentions (the new one is notified), not as escaped ids.
    const handedOver = await waitFor(
      () =>
        t.slack.messages.find(
          (m) => m.channel === channel.id && m.text.startsWith(':memo:') && m.text.includes(APPROVER),
        ),
      (m) => m !== undefined,
      { what: 'the commander change said in the channel' },
    );
    expect(handedOver!.text).toBe(`:memo: <@${ENGINEER}>: <@${ENGINEER}> → <@${APPROVER}>`);
    await slash(ENGINEER, 'incident note rolled back the canary <!channel>', channel.id);
    await answerTo(ENGINEER, 'Noted in the timeline');
    const timeline = await t.bot.deps.incidents.timeline(incident.id);
    expect(timeline.entries.map((e) => e.kind)).toEqual(['status', 'status', 'commander', 'note']);
    // Keyed by its job: a retried note job finds it there and adds nothing.
    const noted = timeline.entries.find((e) => e.kind === 'note')!;
    expect(noted.key).toMatch(/^note:/);
    await addNote(t.bot.deps, incident, noted.text, ENGINEER, noted.key!);
    expect((await t.bot.deps.incidents.timeline(incident.id)).entries).toHaveLength(4);
    const summary = t.slack.messages.find((m) => m.ts === incident.summaryTs)!;
    expect(summary.text).toContain('Identified');

    // Whoever joins late reads the timeline so far, with the note's text shown, not pinging.
    await slash(APPROVER, 'incident timeline', channel.id);
    const shown = await waitFor(
      () => t.slack.messages.find((m) => m.visibleTo === APPROVER && m.text.includes('Timeline')),
      (m) => m !== undefined,
      { what: 'the timeline answer' },
    );
    const lines = JSON.stringify(shown!.blocks);
    expect(lines).toContain('*Note*: rolled back the canary &lt;!channel&gt;');
    expect(lines.indexOf('*Commander*')).toBeLessThan(lines.indexOf('*Note*'));

    // Outside its channel, it is refused and changes nothing.
    await slash(ENGINEER, 'incident status monitoring');
    expect(await answerTo(ENGINEER, "run this in the incident's channel")).toContain(':no_entry:');
    expect((await t.bot.deps.incidents.get(incident.id))?.status).toBe('identified');
  });

  it('resolves with the times and a postmortem draft uploaded into the channel; list shows it', async () => {
    const { incident, channel } = await declareOne('Auth 5xx | spike');
    await slash(ENGINEER, 'incident resolve bad config rolled back', channel.id);
    const file = await t.slack.waitForFile((f) => f.state === 'complete' && f.channel === channel.id);
    expect(file.name).toBe(`postmortem-${channel.name}.md`);
    const markdown = file.bytes!.toString('utf8');
    expect(markdown).toContain('Auth 5xx \\| spike');
    expect(markdown).toContain('bad config rolled back');
    expect(file.initialComment).toMatch(
      /Time to acknowledge \S+ · to mitigate no change recorded · to resolve \S+/,
    );
    expect((await t.bot.deps.incidents.get(incident.id))?.status).toBe('resolved');
    expect((await t.bot.deps.audit.recent(20)).map((e) => e.type)).toContain('incident-resolved');

    // Resolved is final: a note is refused, and the timeline stays as the postmortem has it.
    const entries = (await t.bot.deps.incidents.timeline(incident.id)).entries.length;
    await slash(ENGINEER, 'incident note one more thing', channel.id);
    expect(await answerTo(ENGINEER, 'resolved is final')).toContain(':no_entry:');
    expect((await t.bot.deps.incidents.timeline(incident.id)).entries).toHaveLength(entries);

    await slash(ENGINEER, 'incident resolve again');
    await slash(ENGINEER, 'incident list');
    await answerTo(ENGINEER, 'open incident');
    const listing = t.slack.messages
      .filter((m) => m.visibleTo === ENGINEER && m.text.includes('open incident'))
      .at(-1)!;
    expect(JSON.stringify(listing.blocks)).toContain('Auth 5xx');
  });

  it('uploads the postmortem on the retry when Slack refused it once, the resolve made once', async () => {
    const { incident, channel } = await declareOne('upload refused once');
    // One attempt's worth of refusals (the client's own retries too): the job's retry uploads it.
    t.slack.failNext('files.getUploadURLExternal', 500, 3);
    await slash(ENGINEER, 'incident resolve cache warmed', channel.id);
    const file = await t.slack.waitForFile((f) => f.state === 'complete' && f.channel === channel.id, 20_000);
    expect(file.initialComment).toContain(`*Resolved* by <@${ENGINEER}>: cache warmed`);
    const audited = (await t.bot.deps.audit.recent(200)).filter(
      (e) => e.type === 'incident-resolved' && e.detail.startsWith(`${incident.id}:`),
    );
    expect(audited).toHaveLength(1);
    expect(
      t.slack.messages.some((m) => m.visibleTo === ENGINEER && m.text.includes('resolved is final')),
    ).toBe(false);
  });

  it('keeps the postmortem draft in the audit stream when Slack will not take the file', async () => {
    const { incident, channel } = await declareOne('upload refused');
    // Every attempt at the upload fails (the client's own retries too).
    t.slack.failNext('files.getUploadURLExternal', 500, 20);
    await slash(ENGINEER, 'incident resolve disk freed', channel.id);
    const resolved = await waitFor(
      async () => (await t.bot.deps.audit.recent(50)).find((e) => e.type === 'incident-resolved'),
      (e) => e !== undefined,
      { what: 'the resolution audited', timeoutMs: 20_000 },
    );
    expect(resolved!.detail).toContain(`${incident.id}: `);
    expect(resolved!.detail).toContain('disk freed');
    expect((await t.bot.deps.incidents.get(incident.id))?.status).toBe('resolved');
  });

  it('keeps the pinned summary current when Slack will not take the topic', async () => {
    const { incident, channel } = await declareOne('topic refused');
    // Every attempt of the client (three) at the next topic fails.
    t.slack.failNext('conversations.setTopic', 500, 3);
    await slash(ENGINEER, 'incident status monitoring', channel.id);
    await waitFor(
      () => t.slack.messages.find((m) => m.ts === incident.summaryTs)?.text ?? '',
      (text) => text.includes('Monitoring'),
      { what: 'the pinned summary to follow the status', timeoutMs: 15_000 },
    );
    expect(t.slack.channel(channel.id)!.topic.value).not.toContain('Monitoring');
  });

  it('makes a change once and says it in the channel later when Slack fails at that moment', async () => {
    const { incident, channel } = await declareOne('slack flaky');
    // The change's line fails (the client's retries too), as Slack answering 500 would.
    t.slack.failNext('chat.postMessage', 500, 3);
    await slash(ENGINEER, 'incident severity sev1', channel.id);
    const line = await waitFor(
      () => t.slack.messages.find((m) => m.channel === channel.id && m.text.includes('SEV2 → SEV1')),
      (m) => m !== undefined,
      { what: 'the change said in the channel', timeoutMs: 15_000 },
    );
    expect(line!.text).toContain(`<@${ENGINEER}>`);
    expect((await t.bot.deps.incidents.get(incident.id))?.severity).toBe('sev1');
    // No retry of the command found it made and refused it.
    expect(t.slack.messages.filter((m) => m.visibleTo === ENGINEER && m.text.includes('already'))).toEqual(
      [],
    );
  });

  it('says each of two changes made in the same millisecond by two people', async () => {
    const { incident, channel } = await declareOne('two hands');
    const sameMoment = { ...t.bot.deps, now: () => incident.declaredAt + 60_000 };
    await update(sameMoment, incident, { kind: 'status', status: 'identified' }, ENGINEER);
    const changed = (await t.bot.deps.incidents.get(incident.id))!;
    await update(sameMoment, changed, { kind: 'status', status: 'identified' }, ONCALL);
    const lines = () =>
      t.slack.messages.filter((m) => m.channel === channel.id && m.text.startsWith(':memo:'));
    const said = await waitFor(lines, (found) => found.length >= 2, {
      what: 'both changes said in the channel',
    });
    expect(said.map((m) => /<@(U\w+)>/.exec(m.text)?.[1]).sort()).toEqual([ENGINEER, ONCALL].sort());
  });

  it('refuses to change an incident whose channel was archived, and says so', async () => {
    const { incident, channel } = await declareOne('archived one');
    t.slack.channel(channel.id)!.archived = true;
    await slash(ENGINEER, 'incident status monitoring', channel.id);
    expect(await answerTo(ENGINEER, 'channel is archived')).toContain('nothing was changed');
    expect((await t.bot.deps.incidents.get(incident.id))!.status).toBe('investigating');
  });

  it('waits out Slack’s Retry-After instead of leaving a half-made channel', async () => {
    t.slack.failNext('conversations.setTopic', 429);
    const before = t.slack.channels.length;
    const { channel } = await declareOne('slow slack');
    expect(t.slack.channels).toHaveLength(before + 1);
    expect(channel.archived).toBe(false);
    expect(channel.topic.value).toContain('SEV2');
  });

  it('keeps the channel of an incident already stored when a later step fails; the retry answers and queues its nudge', async () => {
    // Redis blips just after the incident is stored: its audit event fails once.
    const audit = t.bot.deps.audit;
    const record = audit.record.bind(audit);
    let failed = false;
    audit.record = async (event, at) => {
      if (event.type === 'incident-declared' && !failed) {
        failed = true;
        throw new Error('Connection is closed.');
      }
      return record(event, at);
    };
    const before = t.slack.channels.length;
    try {
      const { incident, channel } = await declareOne('half way', 'sev1');
      expect(failed).toBe(true);
      expect(t.slack.channels).toHaveLength(before + 1);
      expect(channel.archived).toBe(false);
      const delayed = await t.bot.queues.get('notify').getJobs(['delayed'], 0, 50);
      expect(delayed.map((j) => j.id)).toContain(`nudge-${incident.id}-${incident.declaredAt + 30 * 60_000}`);
    } finally {
      audit.record = record;
    }
  });

  it('says so, and leaves no channel, when the workspace does not let the bot create channels', async () => {
    t.slack.restrictChannelCreation(true);
    const before = t.slack.channels.length;
    await slash(ENGINEER, 'incident declare sev1 everything is down');
    expect(await answerTo(ENGINEER, 'does not let the bot create channels')).toContain(':no_entry:');
    expect(t.slack.channels).toHaveLength(before);
    expect(await t.bot.deps.incidents.recent()).toEqual([]);
  });
});

/** The bot's thread of a firing alert, and its Declare incident button to press. */
async function alertThreadOf(t: TestBot, alertname: string) {
  const parent = (await waitFor(
    () => t.slack.messages.find((m) => !m.threadTs && m.text.includes(alertname)),
    (m) => m !== undefined && JSON.stringify(m.blocks).includes('declare-incident'),
    { what: `the ${alertname} thread with its Declare button` },
  ))!;
  const groupId = /azora:declare-incident:([^"]+)/.exec(JSON.stringify(parent.blocks))![1]!;
  const press = (user: string) =>
    sendButtonClick(t.url, t.secret, {
      user,
      actionId: actionId('declare-incident', groupId),
      value: groupId,
      channel: parent.channel,
      messageTs: parent.ts,
      responseUrl: t.slack.responseUrl(parent.channel, user),
    });
  return { parent, groupId, press };
}

describe('an incident declared from a critical alert', () => {
  let cluster: TestCluster;
  let t: TestBot;

  beforeAll(async () => {
    cluster = await startTestCluster();
    t = await startTestBot({ cluster, env: { ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN } });
  });
  afterAll(async () => {
    await t.stop();
    await cluster.sim.stop();
  });

  it('takes the alert as title and scope, links the thread, is declared once, and its timeline writes itself', async () => {
    const alert = firingNotification(
      'AzoraHighErrorRate',
      { severity: 'critical', namespace: PROD, service: 'payment' },
      'error rate above 5% on payment',
    );
    expect(await postNotification(t.url, WEBHOOK_TOKEN, alert)).toBe(202);
    const thread = await alertThreadOf(t, 'AzoraHighErrorRate');
    const { parent, groupId } = thread;
    const press = (user = ONCALL) => thread.press(user);
    // Someone who may not respond to production's alerts declares nothing (it would page).
    await press(BYSTANDER);
    const refused = await waitFor(
      () => t.slack.messages.find((m) => m.visibleTo === BYSTANDER),
      (m) => m !== undefined,
      { what: 'the refusal to the bystander' },
    );
    expect(refused!.text).toContain('you may not respond to alerts of production');
    expect(await t.bot.deps.incidents.recent(5)).toEqual([]);
    await press();
    const incident = await waitFor(
      async () => (await t.bot.deps.incidents.recent(5))[0],
      (i) => i !== undefined,
      { what: 'the incident' },
    );
    expect(incident).toMatchObject({
      severity: 'sev1',
      environment: 'production',
      services: ['payment'],
      alertGroups: [groupId],
      declaredBy: ONCALL,
    });
    expect(incident!.title).toBe('AzoraHighErrorRate: error rate above 5% on payment');
    // Its times count from the alert's opening, before anyone pressed the button.
    expect(incident!.alertOpenedAt).toBe((await t.bot.deps.alerts.get(groupId))!.openedAt);
    await waitFor(
      () =>
        t.slack.messages.find((m) => m.threadTs === parent.ts && m.text.includes(`<#${incident!.channel}>`)),
      (m) => m !== undefined,
      { what: 'the alert thread linking the channel' },
    );
    // Pressed again (another responder, Slack's retry): the same incident, no second channel,
    // and the presser is given its channel.
    const channels = t.slack.channels.length;
    const linked = () =>
      t.slack.messages.filter((m) => m.visibleTo === ONCALL && m.text.includes(`<#${incident!.channel}>`))
        .length;
    const before = linked();
    await press();
    await waitFor(linked, (n) => n === before + 1, { what: 'the channel given to the second press' });
    await untilSettled(t.bot);
    expect(t.slack.channels).toHaveLength(channels);
    expect(await t.bot.deps.incidents.recent(5)).toHaveLength(1);

    // In its channel, production commands are taken as in the ops channel (a channel the
    // policy does not list otherwise), and the change goes into its timeline, linked.
    const res = await slashAs(t, ENGINEER, 'scale production payment 5', incident!.channel);
    expect((res.json() as { text: string }).text).toContain('Planning');
    const timeline = await waitFor(
      () => t.bot.deps.incidents.timeline(incident!.id),
      (tl) => tl.entries.some((e) => e.kind === 'request'),
      { what: 'the request in the timeline' },
    );
    expect(timeline.entries.map((e) => e.kind)).toEqual(['status', 'request']);
    expect((await t.bot.deps.incidents.get(incident!.id))!.requests).toHaveLength(1);
  });

  it('declares once the workspace allows it after a refusal, and anew when the alert fires again after a resolve', async () => {
    const alert = firingNotification(
      'AzoraServiceDown',
      { severity: 'critical', namespace: PROD, service: 'auth' },
      'auth is down',
    );
    expect(await postNotification(t.url, WEBHOOK_TOKEN, alert)).toBe(202);
    const thread = await alertThreadOf(t, 'AzoraServiceDown');
    const { groupId } = thread;
    const press = () => thread.press(ONCALL);
    const open = async () => (await t.bot.deps.incidents.recent(10)).filter((i) => i.status !== 'resolved');

    // Refused by the workspace: nothing declared; allowed again, the next press declares.
    t.slack.restrictChannelCreation(true);
    await press();
    await waitFor(
      () =>
        t.slack.messages.find(
          (m) => m.visibleTo === ONCALL && m.text.includes('does not let the bot create'),
        ),
      (m) => m !== undefined,
      { what: 'the refusal' },
    );
    await untilSettled(t.bot);
    t.slack.restrictChannelCreation(false);
    await press();
    const first = (await waitFor(open, (found) => found.length === 1, { what: 'the incident' }))[0]!;

    // Resolved; the alert resolves, then fires again: its Declare makes a new incident.
    await slashAs(t, ONCALL, 'incident resolve failed over to the standby', first.channel);
    await waitFor(
      async () => (await t.bot.deps.incidents.get(first.id))?.status,
      (status) => status === 'resolved',
      { what: 'the first resolved' },
    );
    expect(await postNotification(t.url, WEBHOOK_TOKEN, resolvedNotification(alert))).toBe(202);
    await untilSettled(t.bot);
    expect(await postNotification(t.url, WEBHOOK_TOKEN, firedAgain(alert))).toBe(202);
    await waitFor(
      async () => (await t.bot.deps.alerts.get(groupId))?.status,
      (status) => status === 'firing',
      { what: 'the alert firing again' },
    );
    await press();
    const second = (await waitFor(open, (found) => found.length === 1, { what: 'a new incident' }))[0]!;
    expect(second.id).not.toBe(first.id);
    expect(second.channel).not.toBe(first.channel);
    expect(second.alertGroups).toEqual([groupId]);
  });
});

describe('a sev1 without a status update', () => {
  let t: TestBot;
  beforeAll(async () => {
    t = await startTestBot();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('nudges its commander once per interval after the last update or nudge', async () => {
    await slashAs(t, ENGINEER, 'incident declare sev1 checkout down', OPS);
    const incident = (await waitFor(
      async () => (await t.bot.deps.incidents.recent(1))[0],
      (i) => i !== undefined,
      { what: 'the incident' },
    ))!;
    // Its first look is queued for 30 minutes after the declaration, once the incident is stored.
    const nudge = `nudge-${incident.id}-${incident.declaredAt + 30 * 60_000}`;
    await waitFor(
      async () => (await t.bot.queues.get('notify').getJobs(['delayed'], 0, -1)).map((j) => j.id),
      (ids) => ids.includes(nudge),
      { what: 'the first nudge, delayed by 30 minutes' },
    );

    const at = (ms: number) => ({ ...t.bot.deps, now: () => incident.declaredAt + ms });
    const bells = () =>
      t.slack.messages.filter((m) => m.channel === incident.channel && m.text.includes(':bell:'));
    expect(await nudgeIfDue(at(29 * 60_000), incident.id)).toBe(false);
    // Slack fails the first nudge's post (the client's retries too): it is posted later all the same.
    t.slack.failNext('chat.postMessage', 500, 3);
    expect(await nudgeIfDue(at(31 * 60_000), incident.id)).toBe(true);
    expect(await nudgeIfDue(at(32 * 60_000), incident.id)).toBe(false);
    const rung = (count: number) =>
      waitFor(bells, (found) => found.length >= count, { what: `${count} nudges in the channel` });
    await rung(1);
    expect(bells()).toHaveLength(1);
    expect(bells()[0]!.text).toContain(`<@${ENGINEER}>, no status update for 30m`);
    // Once per interval: the next is 30 minutes after the nudge.
    expect(await nudgeIfDue(at(62 * 60_000), incident.id)).toBe(true);
    await rung(2);
    await waitFor(
      () => t.bot.deps.outbox.pending(),
      (n) => n === 0,
      { what: 'every Slack write made' },
    );
    expect(bells()).toHaveLength(2);

    // Left unresolved with its channel archived: nobody is nudged, and no next look is queued.
    t.slack.channel(incident.channel)!.archived = true;
    expect(await nudgeIfDue(at(93 * 60_000), incident.id)).toBe(false);
    const later = (await t.bot.queues.get('notify').getJobs(['delayed'], 0, -1)).map((j) => j.id);
    expect(later).not.toContain(`nudge-${incident.id}-${incident.declaredAt + 123 * 60_000}`);
  });
});

describe('an incident with PagerDuty', () => {
  let cluster: TestCluster;
  let pagerduty: SimulatedPagerDuty;
  let t: TestBot;
  const caDir = mkdtempSync(path.join(tmpdir(), 'azora-pd-'));

  beforeAll(async () => {
    cluster = await startTestCluster();
    pagerduty = await new SimulatedPagerDuty().start();
    const caFile = await pagerduty.writeCa(path.join(caDir, 'ca.pem'));
    const policy = structuredClone(cluster.policy);
    policy.incidents.escalationPolicies = { payment: simulatedId('escalation_policy', 'Azora Platform') };
    t = await startTestBot({
      cluster: { ...cluster, policy },
      policy,
      env: { ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN, ...pagerduty.env(caFile) },
    });
  });
  /** The incident of that title, once declared (its summary posted). */
  const declared = async (title: string) =>
    (await waitFor(
      async () => (await t.bot.deps.incidents.recent(5)).find((i) => i.title === title),
      (i) => i?.summaryTs !== undefined,
      { what: `the incident ${title}` },
    ))!;

  afterAll(async () => {
    await t.stop();
    await pagerduty.stop();
    await cluster.sim.stop();
    rmSync(caDir, { recursive: true, force: true });
  });

  it('invites who is on call for the service (matched by e-mail) and pages on the alert’s own incident', async () => {
    const alert = firingNotification(
      'AzoraServiceDown',
      { severity: 'critical', namespace: PROD, service: 'payment' },
      'payment is down',
    );
    expect(await postNotification(t.url, WEBHOOK_TOKEN, alert)).toBe(202);
    const { groupId, press } = await alertThreadOf(t, 'AzoraServiceDown');
    const alertPage = await waitFor(
      () => pagerduty.events.find((e) => e.action === 'trigger' && e.dedupKey?.includes(groupId)),
      (e) => e !== undefined,
      { what: 'the alert’s own page' },
    );
    await press(ENGINEER);
    const incident = await waitFor(
      async () => (await t.bot.deps.incidents.recent(1))[0],
      (i) => i !== undefined,
      { what: 'the incident' },
    );
    // Amara is on call at level 1 of the payment's escalation policy; Jonas (level 2) is not asked.
    const members = t.slack.channel(incident!.channel)!.members;
    expect(members).toContain(APPROVER);
    expect(members).not.toContain('U0APPROVER2');
    expect(incident!.pagerduty?.id).toBe(alertPage!.dedupKey);
    const incidentPages = pagerduty.events.filter(
      (e) => e.action === 'trigger' && e.dedupKey === alertPage!.dedupKey,
    );
    expect(incidentPages.length).toBeGreaterThanOrEqual(2);

    // The channel's link is a note on that PagerDuty incident (REST, as its user), and the
    // pinned summary links the incident's page.
    const paged = pagerduty.incidents.find((i) => i.dedupKey === alertPage!.dedupKey)!;
    const noted = await waitFor(
      async () => (await t.bot.deps.incidents.get(incident!.id))?.pagerduty,
      (p) => p?.incidentId !== undefined,
      { what: 'the PagerDuty note' },
    );
    expect(noted).toEqual({
      id: alertPage!.dedupKey,
      incidentId: paged.id,
      url: `https://azora-sandbox.pagerduty.com/incidents/${paged.id}`,
    });
    expect(paged.notes).toEqual([
      {
        from: pagerduty.fromEmail,
        content: expect.stringContaining(
          `#${incident!.channelName} (https://slack.com/app_redirect?channel=${incident!.channel})`,
        ),
      },
    ]);
    const summary = await waitFor(
      () => t.slack.messages.find((m) => m.ts === incident!.summaryTs),
      (m) => m !== undefined && JSON.stringify(m.blocks).includes(noted!.url!),
      { what: 'the summary linking the PagerDuty incident' },
    );
    expect(summary!.channel).toBe(incident!.channel);
    // The note changed the summary, not the topic: Slack would say the same topic again in the channel.
    const topics = t.slack.calls.filter(
      (c) => c.method === 'conversations.setTopic' && c.args.channel === incident!.channel,
    );
    expect(topics).toHaveLength(1);
  });

  it('invites a new commander, and resolves the page it opened with the incident, naming who resolved it', async () => {
    await slashAs(t, ENGINEER, 'incident declare sev1 checkout failing everywhere', OPS);
    const incident = (await waitFor(
      async () =>
        (await t.bot.deps.incidents.recent(5)).find((i) => i.title === 'checkout failing everywhere'),
      (i) => i?.summaryTs !== undefined,
      { what: 'the incident' },
    ))!;
    const key = `azora-incident-${incident.id}`;
    await waitFor(
      () => pagerduty.events.filter((e) => e.dedupKey === key && e.action === 'trigger' && e.status === 202),
      (found) => found.length > 0,
      { what: 'its page' },
    );
    const command = (user: string, text: string) =>
      sendSlashCommand(t.url, t.secret, {
        text,
        user,
        channel: incident.channel,
        responseUrl: t.slack.responseUrl(incident.channel, user),
      });
    expect(t.slack.channel(incident.channel)!.members).not.toContain(SECOND_APPROVER);

    await command(ENGINEER, `incident commander <@${SECOND_APPROVER}|jonas>`);
    await waitFor(
      () => t.slack.channel(incident.channel)!.members,
      (members) => members.includes(SECOND_APPROVER),
      { what: 'the new commander in the channel' },
    );

    // PagerDuty fails the first resolve: the retried job sends it again.
    pagerduty.failNext('/v2/enqueue', 500);
    await command(APPROVER, 'incident resolve config rolled back');
    const file = await t.slack.waitForFile((f) => f.state === 'complete' && f.channel === incident.channel);
    expect(file.initialComment).toContain(`*Resolved* by <@${APPROVER}>: config rolled back`);
    const resolved = await waitFor(
      () => pagerduty.events.filter((e) => e.dedupKey === key && e.action === 'resolve' && e.status === 202),
      (found) => found.length > 0,
      { what: 'its page resolved' },
    );
    expect(resolved).toHaveLength(1);
    expect(
      pagerduty.events.some((e) => e.dedupKey === key && e.action === 'resolve' && e.status === 500),
    ).toBe(true);
  });

  it('pages a sev1 once PagerDuty answers when it failed at the declaration, saying so in the channel', async () => {
    pagerduty.failNext('/v2/enqueue', 500);
    await slashAs(t, ENGINEER, 'incident declare sev1 ledger writes failing', OPS);
    const incident = await declared('ledger writes failing');
    const key = `azora-incident-${incident.id}`;
    expect(incident.pagerduty?.id).toBe(key);
    await waitFor(
      () => pagerduty.events.filter((e) => e.dedupKey === key && e.action === 'trigger').map((e) => e.status),
      (statuses) => statuses.includes(202),
      { what: 'the page sent again', timeoutMs: 15_000 },
    );
    const said = t.slack.messages.filter((m) => m.channel === incident.channel).map((m) => m.text);
    expect(said.some((text) => text.includes('PagerDuty did not take the page yet'))).toBe(true);
  });

  it('says in the channel that on-call is not paged when PagerDuty refuses the page', async () => {
    pagerduty.failNext('/v2/enqueue', 400);
    await slashAs(t, ENGINEER, 'incident declare sev2 exports stuck', OPS);
    const incident = await declared('exports stuck');
    expect(incident.pagerduty).toBeUndefined();
    const refused = await waitFor(
      () => t.slack.messages.find((m) => m.channel === incident.channel && m.text.includes('is *not* paged')),
      (m) => m !== undefined,
      { what: 'the refusal in the channel' },
    );
    expect(refused!.text).toContain('PagerDuty did not take the page');
  });

  it('pages when its severity is raised to one that pages, once', async () => {
    await slashAs(t, ENGINEER, 'incident declare sev3 search results stale', OPS);
    const incident = await declared('search results stale');
    const key = `azora-incident-${incident.id}`;
    const triggers = () => pagerduty.events.filter((e) => e.dedupKey === key && e.action === 'trigger');
    const raise = (severity: string) =>
      slashAs(t, ENGINEER, `incident severity ${severity}`, incident.channel);
    expect(incident.pagerduty).toBeUndefined();

    // PagerDuty fails the first page: the job's retry finds the raise saved, and pages.
    pagerduty.failNext('/v2/enqueue', 500);
    await raise('sev2');
    await waitFor(
      async () => (await t.bot.deps.incidents.get(incident.id))?.pagerduty?.id,
      (id) => id === key,
      { what: 'the page kept on the incident', timeoutMs: 15_000 },
    );
    expect(triggers().some((e) => e.status === 500)).toBe(true);
    await raise('sev1');
    await waitFor(
      async () => (await t.bot.deps.incidents.get(incident.id))?.severity,
      (severity) => severity === 'sev1',
      { what: 'the second raise' },
    );
    await untilSettled(t.bot);
    expect(triggers().filter((e) => e.status === 202)).toHaveLength(1);
    // The declaration's topic and one per raise: the page itself leaves the topic as it is.
    const topics = t.slack.calls.filter(
      (c) => c.method === 'conversations.setTopic' && c.args.channel === incident.channel && c.status === 200,
    );
    expect(topics.map((c) => String(c.args.topic).split(' · ')[0])).toEqual(['SEV3', 'SEV2', 'SEV1']);
  });
});
