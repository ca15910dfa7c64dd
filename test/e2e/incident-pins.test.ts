import type { Incident } from '../../src/incidents/domain/incident';
import type { TimelineEntry } from '../../src/incidents/domain/timeline';
import { tsToMs } from '../../src/incidents/pins';
import type { SimulatedEvent } from '../../sandbox/slack-api';
import { eventCallbackBody } from '../../sandbox/slack-requests';
import { startTestBot, type TestBot } from '../kit/bot';
import { APPROVER, ENGINEER, OPS } from '../kit/ids';
import { sendEvent, sendSlashCommand } from '../kit/slack-requests';
import { waitFor } from '../kit/wait';

/**
 * :pushpin: on any message in an open incident's channel puts it in the timeline: a
 * reaction_added event, delivered as Slack does (a signed event_callback POSTed to
 * /slack/events, or an events_api envelope over Socket Mode), to the real bot and the
 * simulated Slack. Each delivery is counted once by the listener
 * (azora_slack_requests_total{kind="event:reaction_added"}) and each pin job once when it
 * is done (azora_jobs_total), so "adds nothing" is read after the bot said it is done with it.
 */

type Outcome = 'queued' | 'ignored' | 'replay' | 'failed';

/** How many reaction_added deliveries the listener has finished with `outcome`. */
async function reactions(t: TestBot, outcome: Outcome): Promise<number> {
  const { values } = await t.bot.metrics.slackRequests.get();
  return (
    values.find((v) => v.labels.kind === 'event:reaction_added' && v.labels.outcome === outcome)?.value ?? 0
  );
}

/** How many pin jobs have finished (succeeded). */
async function pinJobsDone(t: TestBot): Promise<number> {
  const { values } = await t.bot.metrics.jobs.get();
  return values.find((v) => v.labels.name === 'pin-entry' && v.labels.outcome === 'succeeded')?.value ?? 0;
}

const pins = async (t: TestBot, incident: Incident): Promise<TimelineEntry[]> =>
  (await t.bot.deps.incidents.timeline(incident.id)).entries.filter((e) => e.kind === 'pin');

/** A transport: how a test declares (a slash command) and how it delivers a recorded event. */
interface Transport {
  slash(t: TestBot, user: string, text: string, channel: string): Promise<void>;
  /** `retry`: as Slack marks a redelivery (over HTTP, x-slack-retry-num and -reason). */
  deliver(t: TestBot, event: SimulatedEvent, retry: boolean): Promise<void>;
}

const overHttp: Transport = {
  async slash(t, user, text, channel) {
    const res = await sendSlashCommand(t.url, t.secret, {
      text,
      user,
      channel,
      responseUrl: t.slack.responseUrl(channel, user),
    });
    expect(res.status).toBe(200);
  },
  async deliver(t, event, retry) {
    const res = await sendEvent(t.url, t.secret, event, {
      ...(retry ? { retry: { num: 1, reason: 'http_timeout' } } : {}),
    });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
  },
};

const overSocket: Transport = {
  async slash(t, user, text, channel) {
    await t.socket!.slashCommand({ text, user, channel, responseUrl: t.slack.responseUrl(channel, user) })
      .acked;
  },
  async deliver(t, event) {
    // Slack's events_api envelope carries the event_callback as its payload; a redelivery
    // is a new envelope with the same payload (its event_id).
    const payload = JSON.parse(eventCallbackBody({ event })) as Record<string, unknown>;
    const { envelopeId, acked } = t.socket!.send('events_api', payload);
    expect((await acked).envelopeId).toBe(envelopeId);
  },
};

/**
 * Delivers `event` and waits until the listener has finished with it, as `outcome`; a
 * queued one until its job is done too.
 */
async function deliverAndSettle(
  t: TestBot,
  transport: Transport,
  event: SimulatedEvent,
  outcome: Outcome,
  { retry = false } = {},
): Promise<void> {
  const before = await reactions(t, outcome);
  const jobsBefore = await pinJobsDone(t);
  await transport.deliver(t, event, retry);
  await waitFor(
    () => reactions(t, outcome),
    (n) => n === before + 1,
    { what: `the listener to take ${event.event_id} as ${outcome}` },
  );
  if (outcome === 'queued')
    await waitFor(
      () => pinJobsDone(t),
      (n) => n === jobsBefore + 1,
      { what: 'the pin job' },
    );
}

async function declare(t: TestBot, transport: Transport, title: string): Promise<Incident> {
  const known = (await t.bot.deps.incidents.recent()).length;
  await transport.slash(t, ENGINEER, `incident declare sev2 ${title}`, OPS);
  const [incident] = await waitFor(
    () => t.bot.deps.incidents.recent(),
    (incidents) => incidents.length > known,
    { what: 'the declared incident' },
  );
  expect(incident!.title).toBe(title);
  return incident!;
}

describe.each([
  ['over HTTP (signed event_callback to /slack/events)', overHttp, false],
  ['over Socket Mode (events_api envelopes)', overSocket, true],
] as const)('pinning messages into an incident timeline, %s', (_name, transport, socketMode) => {
  let t: TestBot;

  beforeAll(async () => {
    t = await startTestBot(socketMode ? { socketMode: true } : {});
    if (socketMode) await t.socket!.waitForConnections(1);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('adds a :pushpin:ned message once: not again for Slack’s retry, another emoji, or a second person', async () => {
    const incident = await declare(t, transport, 'Checkout errors');
    const text = 'rolled back api-gateway to v41 <!channel> & <https://x.example|link> *not bold*';
    const { message } = t.slack.say(ENGINEER, incident.channel, text);
    const pin = t.slack.react(ENGINEER, incident.channel, message.ts, 'pushpin');

    await deliverAndSettle(t, transport, pin, 'queued');
    const [entry, ...more] = await pins(t, incident);
    expect(more).toEqual([]);
    expect(entry).toEqual({
      kind: 'pin',
      actor: ENGINEER,
      at: tsToMs(message.ts),
      // Stored as the channel read it, not as markup: each view escapes it where it shows it.
      text: 'rolled back api-gateway to v41 @channel & link *not bold*',
      link: expect.stringMatching(
        new RegExp(`/archives/${incident.channel}/p${message.ts.replace('.', '')}$`),
      ),
      key: `pin:${incident.channel}:${message.ts}`,
    });
    const history = t.slack.callsOf('conversations.history');
    // Form-encoded, as the Web API client sends it.
    expect(history.at(-1)?.args).toMatchObject({
      channel: incident.channel,
      latest: message.ts,
      inclusive: 'true',
      limit: '1',
    });

    // Slack delivers the same event again (its ack was late): the same event_id, nothing new.
    await deliverAndSettle(t, transport, pin, 'replay', { retry: true });
    // Another emoji on the same message.
    await deliverAndSettle(
      t,
      transport,
      t.slack.react(APPROVER, incident.channel, message.ts, 'eyes'),
      'ignored',
    );
    // A second person pins it too: a new event, a job, and still one entry.
    await deliverAndSettle(
      t,
      transport,
      t.slack.react(APPROVER, incident.channel, message.ts, 'pushpin'),
      'queued',
    );
    expect(await pins(t, incident)).toEqual([entry]);
  });

  it('reads a thread reply from its thread, and bounds a long message', async () => {
    const incident = await declare(t, transport, 'Queue backlog');
    const { message: parent } = t.slack.say(ENGINEER, incident.channel, 'what changed at 10:00?');
    const { message: reply } = t.slack.say(
      ENGINEER,
      incident.channel,
      'the 09:58 deploy of worker v12',
      parent.ts,
    );
    await deliverAndSettle(
      t,
      transport,
      t.slack.react(ENGINEER, incident.channel, reply.ts, 'pushpin'),
      'queued',
    );
    const { message: long } = t.slack.say(ENGINEER, incident.channel, `log: ${'x'.repeat(3_000)}`);
    await deliverAndSettle(
      t,
      transport,
      t.slack.react(ENGINEER, incident.channel, long.ts, 'pushpin'),
      'queued',
    );

    const entries = await pins(t, incident);
    expect(entries.map((e) => [e.actor, e.text.length <= 1_000, e.key])).toEqual([
      [ENGINEER, true, `pin:${incident.channel}:${reply.ts}`],
      [ENGINEER, true, `pin:${incident.channel}:${long.ts}`],
    ]);
    expect(entries[0]!.text).toBe('the 09:58 deploy of worker v12');
    expect(entries[1]!.text).toMatch(/^log: x+…$/);
    expect(t.slack.callsOf('conversations.replies').at(-1)?.args).toMatchObject({
      channel: incident.channel,
      ts: reply.ts,
    });
  });

  it('waits out Slack’s Retry-After when the read is rate-limited, then adds the entry', async () => {
    const incident = await declare(t, transport, 'Slow reads');
    const { message } = t.slack.say(ENGINEER, incident.channel, 'pinned while Slack limits reads');
    // One read a minute, and this one takes it: the pin's read gets 429 with Retry-After: 1.
    t.slack.limitRate('conversations.history', { calls: 1, windowMs: 60_000, retryAfterSeconds: 1 });
    await t.bot.deps.slack.conversations.history({ channel: incident.channel, limit: 1 });
    const limited = t.slack.waitForCall((c) => c.method === 'conversations.history' && c.status === 429);
    const settled = deliverAndSettle(
      t,
      transport,
      t.slack.react(ENGINEER, incident.channel, message.ts, 'pushpin'),
      'queued',
    );
    const refused = await limited;
    t.slack.limitRate('conversations.history', undefined);
    await settled;
    const read = t.slack
      .callsOf('conversations.history')
      .find((c) => c.at > refused.at && c.args.latest === message.ts);
    // Not before the second Slack asked for (less a little for the clocks' rounding).
    expect(read!.at - refused.at).toBeGreaterThanOrEqual(950);
    expect((await pins(t, incident)).map((e) => e.text)).toEqual(['pinned while Slack limits reads']);
  });

  it('ignores a :pushpin: outside an incident channel, and in a resolved incident’s, reading nothing', async () => {
    const reads = () => t.slack.callsOf('conversations.history').length;
    const { message: elsewhere } = t.slack.say(ENGINEER, OPS, 'not an incident');
    let readsBefore = reads();
    await deliverAndSettle(t, transport, t.slack.react(ENGINEER, OPS, elsewhere.ts, 'pushpin'), 'ignored');
    expect(reads()).toBe(readsBefore);

    const incident = await declare(t, transport, 'Auth timeouts');
    const { message } = t.slack.say(ENGINEER, incident.channel, 'fixed by the config rollback');
    await transport.slash(t, ENGINEER, 'incident resolve config rolled back', incident.channel);
    await waitFor(
      async () => (await t.bot.deps.incidents.get(incident.id))?.status,
      (status) => status === 'resolved',
      { what: 'the incident resolved' },
    );
    readsBefore = reads();
    await deliverAndSettle(
      t,
      transport,
      t.slack.react(ENGINEER, incident.channel, message.ts, 'pushpin'),
      'ignored',
    );
    expect(reads()).toBe(readsBefore);
    expect(await pins(t, incident)).toEqual([]);
  });
});
