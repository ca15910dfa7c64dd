import { startTestBot, type TestBot } from '../kit/bot';
import { BYSTANDER, ENGINEER, OPS, WEBHOOK_TOKEN } from '../kit/ids';
import { SimulatedSlack } from '../../sandbox/slack-api';
import { slashCommandPayload, SlackSocketServer, type SocketAck } from '../kit/slack-socket';
import { uniquePrefix } from '../kit/redis';
import { waitFor } from '../kit/wait';

/**
 * The web role in Socket Mode (SLACK_APP_TOKEN, no signing secret) against a local server
 * that speaks Slack's Socket Mode protocol (test/kit/slack-socket.ts): the same listeners,
 * acknowledgements, access checks and replay protection as over HTTP; reconnects that lose
 * and repeat nothing; several replicas on one app; malformed envelopes; and the HTTP port
 * still serving the webhook, the probes and the metrics.
 */

/** Slack's limit for an acknowledgement. */
const ACK_WITHIN_MS = 3_000;

/** A counter of a bot, read from its registry (a stopped replica's too). */
const metric = async (t: TestBot, line: RegExp): Promise<number> => {
  const text = await t.bot.metrics.registry.metrics();
  const found = new RegExp(`^${line.source} (\\d+)$`, 'm').exec(text);
  return Number(found?.[1] ?? 0);
};
const accepted = (t: TestBot, verb: string) =>
  metric(t, new RegExp(`azora_commands_total\\{verb="${verb}",outcome="accepted"\\}`));
const replays = (t: TestBot, kind: string) =>
  metric(t, new RegExp(`azora_slack_replays_total\\{kind="${kind}"\\}`));
const MALFORMED = /azora_slack_requests_total\{kind="malformed",outcome="refused"\}/;

/**
 * A count the listeners raise after their ack (a command is counted once its job is
 * queued): waited for, then read again a moment later, so one too many shows too.
 */
async function settlesAt(probe: () => Promise<number>, expected: number, what: string): Promise<void> {
  await waitFor(probe, (n) => n >= expected, { what });
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(await probe()).toBe(expected);
}

const readiness = async (url: string) => {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, string> };
};

/** The plan-request jobs the web role queued, by their job id (one per trigger_id). */
const planJobs = async (t: TestBot) =>
  (await t.bot.queues.get('ops').getJobs(['wait', 'delayed', 'active']))
    .filter((job) => job.name === 'plan-request')
    .map((job) => job.id!);
const planJobOf = (triggerId: string) => `plan-${triggerId.replace(/[^A-Za-z0-9._-]/g, '_')}`;

describe('the web role over Socket Mode', () => {
  let t: TestBot;
  let socket: SlackSocketServer;
  beforeAll(async () => {
    t = await startTestBot({
      role: 'web',
      socketMode: true,
      env: { ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN },
    });
    socket = t.socket!;
    await socket.waitForConnections(1);
  });
  afterAll(() => t.stop());

  it('connects with the app token through SLACK_API_URL, needing no signing secret', async () => {
    expect(t.config.slack).toEqual({ botToken: t.slack.botToken, appToken: socket.appToken });
    expect(t.bot.web?.slackTransport).toBe('socket');
    expect(socket.opens.filter((o) => o.ok)).toHaveLength(1);
    // Other Web API calls go the same way (auth.test at start-up, here).
    expect(t.slack.callsOf('auth.test')).toHaveLength(1);
  });

  it('acknowledges /azora help within 3 s with the ephemeral answer as the ack payload', async () => {
    const { acked, envelopeId } = socket.slashCommand({ text: 'help', user: ENGINEER });
    const ack = await acked;
    expect(ack.afterMs).toBeLessThan(ACK_WITHIN_MS);
    const answer = ack.payload as { response_type: string; text: string };
    expect(answer.response_type).toBe('ephemeral');
    expect(answer.text).toContain('status <environment>');
    expect(socket.tally(envelopeId)).toEqual({ deliveries: 1, acks: 1 });
  });

  it('checks access as over HTTP: a bystander is refused a production change, naming who can, and nothing is planned', async () => {
    const ack = await socket.slashCommand({ text: 'scale production api-gateway 5', user: BYSTANDER }).acked;
    const { text } = ack.payload as { text: string };
    expect(text).toContain('Not allowed: you may not request changes in production');
    expect(text).toContain('<@U0APPROVER1>');
    expect(await planJobs(t)).toEqual([]);
  });

  it('plans a change once when Slack sends the same command twice (same trigger_id, new envelope)', async () => {
    const first = socket.slashCommand({ text: 'scale staging payment 3', user: 'U0SOCKETA', channel: OPS });
    const ack = await first.acked;
    expect(ack.afterMs).toBeLessThan(ACK_WITHIN_MS);
    expect((ack.payload as { text: string }).text).toContain('Planning');
    const repliesBefore = await replays(t, 'command');
    const again = socket.send('slash_commands', first.payload);
    const second = await again.acked;
    // The replay is acknowledged, with nothing to say and nothing done.
    expect(second.payload).toEqual({});
    expect(await replays(t, 'command')).toBe(repliesBefore + 1);
    await settlesAt(() => accepted(t, 'scale'), 1, 'the command accepted');
    expect(await planJobs(t)).toEqual([planJobOf(first.payload.trigger_id!)]);
  });

  it('acknowledges a click at once and handles a click Slack sends twice (same action_ts) once', async () => {
    const responseUrl = t.slack.responseUrl(OPS, 'U0APPROVER1');
    const click = socket.buttonClick({
      user: 'U0APPROVER1',
      actionId: 'azora:approve:r0socket1',
      value: 'r0socket1',
      responseUrl,
    });
    const ack = await click.acked;
    expect(ack.afterMs).toBeLessThan(ACK_WITHIN_MS);
    expect(ack.payload).toEqual({});
    // The approval listener answers through the response_url: the request does not exist.
    await t.slack.waitForCall((c) => c.method === 'response_url' && c.args.user === 'U0APPROVER1');
    const before = await replays(t, 'click');
    await socket.send('interactive', click.payload, { acceptsResponsePayload: false }).acked;
    // A click is acknowledged first and checked after: the replay shows once the check ran.
    await settlesAt(() => replays(t, 'click'), before + 1, 'the second click taken for a replay');
    expect(
      t.slack.calls.filter((c) => c.method === 'response_url' && c.args.user === 'U0APPROVER1'),
    ).toHaveLength(1);
  });

  it('acknowledges a command and a button it does not know, and does nothing else', async () => {
    const callsBefore = t.slack.calls.length;
    const command = await socket.send('slash_commands', {
      ...socket.slashCommand({ text: 'help', user: ENGINEER }).payload,
      command: '/not-azora',
    }).acked;
    expect(command.afterMs).toBeLessThan(ACK_WITHIN_MS);
    const click = await socket.buttonClick({ user: ENGINEER, actionId: 'azora:reboot:r0000001' }).acked;
    expect(click.payload).toEqual({});
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(t.slack.calls.length).toBe(callsBefore);
  });

  it('serves the webhook, /healthz, /readyz (naming the socket) and /metrics on its HTTP port, and no Slack endpoint', async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect(await readiness(t.url)).toEqual({
      status: 200,
      body: { status: 'ready', redis: 'ok', slackSocket: 'ok' },
    });
    expect(await (await fetch(`${t.url}/metrics`)).text()).toMatch(/^azora_commands_total\{/m);
    const webhook = await fetch(`${t.url}/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${WEBHOOK_TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
    });
    // Reached, authorized and checked: an empty object is no Alertmanager notification.
    expect(webhook.status).toBe(400);
    expect((await fetch(`${t.url}/alertmanager`, { method: 'POST', body: '{}' })).status).toBe(401);
    expect((await fetch(`${t.url}/slack/events`, { method: 'POST', body: 'x' })).status).toBe(404);
  });

  it('refuses malformed envelopes without a crash: acknowledged when they carry an id, ignored when not', async () => {
    const [connection] = socket.openConnections as [number];
    const refusedBefore = await metric(t, MALFORMED);
    const command = socket.slashCommand({ text: 'help', user: ENGINEER }).payload;
    const withId: Array<[string, unknown]> = [
      ['m-events-null', { type: 'events_api', payload: null }],
      ['m-events-no-event', { type: 'events_api', payload: { type: 'event_callback' } }],
      ['m-events-event-null', { type: 'events_api', payload: { type: 'event_callback', event: null } }],
      ['m-command-empty', { type: 'slash_commands', payload: {} }],
      ['m-command-null', { type: 'slash_commands', payload: null }],
      ['m-command-text-number', { type: 'slash_commands', payload: { ...command, text: 5 } }],
      ['m-command-event', { type: 'slash_commands', payload: { ...command, event: { type: 'x' } } }],
      ['m-interactive-null', { type: 'interactive', payload: null }],
      ['m-interactive-no-user', { type: 'interactive', payload: { type: 'block_actions', actions: [] } }],
      ['m-interactive-array', { type: 'interactive', payload: [] }],
      // The socket client would emit these types as its own events (close: reconnect).
      ['m-close', { type: 'close', payload: {} }],
      ['m-error', { type: 'error', payload: {} }],
      ['m-connected', { type: 'connected', payload: {} }],
      ['m-ws-message', { type: 'ws_message', payload: {} }],
      ['m-unknown', { type: 'app_home_opened', payload: {} }],
    ];
    const withoutId = [
      'not json',
      '[]',
      '"hello"',
      'null',
      '{}',
      JSON.stringify({ type: 'slash_commands', payload: command }),
      JSON.stringify({ type: 'slash_commands', envelope_id: 7, payload: command }),
      JSON.stringify({ type: 'interactive', envelope_id: '', payload: {} }),
    ];
    for (const [id, frame] of withId)
      socket.sendRaw(connection, JSON.stringify({ envelope_id: id, ...(frame as object) }));
    for (const frame of withoutId) socket.sendRaw(connection, frame);

    for (const [id] of withId) {
      const ack = await socket.waitForAck((a) => a.envelopeId === id, 5_000);
      // Acknowledged with nothing: Slack is not asked to show anything for it.
      expect({ id, payload: ack.payload }).toEqual({ id, payload: {} });
    }
    expect(await metric(t, MALFORMED)).toBe(refusedBefore + withId.length + withoutId.length);
    // Still the same connection, still answering, still ready.
    expect(socket.openConnections).toEqual([connection]);
    const ack = await socket.slashCommand({ text: 'help', user: ENGINEER }).acked;
    expect((ack.payload as { text: string }).text).toContain('status <environment>');
    expect((await readiness(t.url)).status).toBe(200);
  });
});

describe('Socket Mode reconnects', () => {
  let t: TestBot;
  let socket: SlackSocketServer;
  beforeAll(async () => {
    t = await startTestBot({ role: 'web', socketMode: true });
    socket = t.socket!;
    await socket.waitForConnections(1);
  });
  afterAll(() => t.stop());

  // A user each: the per-user change limit stays out of the way.
  const change = (user: string) => slashCommandPayload({ text: 'scale staging auth 3', user, channel: OPS });

  it('survives a refresh_requested and a dropped connection with no envelope lost or handled twice', async () => {
    const payloads: Array<Record<string, string>> = [];
    const acks: Array<Promise<SocketAck>> = [];
    const send = (user: string, to?: number) => {
      const payload = change(user);
      payloads.push(payload);
      acks.push(socket.send('slash_commands', payload, to === undefined ? {} : { to }).acked);
    };
    const [first] = socket.openConnections as [number];

    // Envelopes in hand when Slack asks for a new connection: their acks may not make it.
    send('U0RECONA1', first);
    send('U0RECONA2', first);
    socket.disconnect(first, 'refresh_requested');
    await waitFor(
      () => socket.openConnections,
      (open) => !open.includes(first),
      { what: 'the old connection to close' },
    );
    // While no connection is open: held for the next.
    send('U0RECONA3');
    const [second] = (await socket.waitForConnections(1)) as [number];
    expect(second).not.toBe(first);

    // An envelope reaches the bot and its connection drops at once: its ack cannot be sent.
    const dropped = change('U0RECONB0');
    payloads.push(dropped);
    acks.push(socket.send('slash_commands', dropped, { to: second, thenDrop: true }).acked);
    send('U0RECONB1');
    await socket.waitForConnections(1);

    // Every envelope acknowledged in the end, each delivery within Slack's 3 s.
    const answered = await Promise.all(acks);
    expect(answered.every((a) => a.afterMs < ACK_WITHIN_MS)).toBe(true);
    expect(socket.acks.filter((a) => a.extra)).toEqual([]);

    // Each command planned once: one acceptance per command, one job per trigger_id.
    await settlesAt(() => accepted(t, 'scale'), payloads.length, 'every command accepted');
    const jobs = await planJobs(t);
    expect(jobs.sort()).toEqual(payloads.map((p) => planJobOf(p.trigger_id!)).sort());
    // What was delivered again after the bot had it was answered as a replay (at least the
    // dropped one, whose ack could not be sent): every delivery the bot saw ran at most once.
    const replayed = await replays(t, 'command');
    expect(replayed).toBeGreaterThanOrEqual(1);
    expect(payloads.length + replayed).toBeLessThanOrEqual(socket.deliveries.length);
    expect(await readiness(t.url)).toMatchObject({ status: 200 });
  }, 40_000);
});

describe('two web replicas on one Slack app', () => {
  let slack: SimulatedSlack;
  let socket: SlackSocketServer;
  let replicas: TestBot[];
  beforeAll(async () => {
    slack = await new SimulatedSlack().start();
    socket = await new SlackSocketServer({ upstream: slack }).start();
    const prefix = uniquePrefix();
    replicas = [
      await startTestBot({ role: 'web', socketMode: socket, prefix }),
      await startTestBot({ role: 'web', socketMode: socket, prefix }),
    ];
    await socket.waitForConnections(2);
  });
  afterAll(async () => {
    for (const [i, replica] of replicas.entries()) await replica.stop({ keepData: i < replicas.length - 1 });
    await socket.stop();
    await slack.stop();
  });

  const change = (user: string) =>
    slashCommandPayload({ text: 'scale staging education 3', user, channel: OPS });
  const acceptedByAll = async () =>
    (await Promise.all(replicas.map((r) => accepted(r, 'scale')))).reduce((a, b) => a + b, 0);

  it('hands each envelope to one of them, and each is handled exactly once', async () => {
    const payloads = Array.from({ length: 12 }, (_, i) => change(`U0REPLICA${i}`));
    const sent = payloads.map((payload) => socket.send('slash_commands', payload));
    const acks = await Promise.all(sent.map((s) => s.acked));
    expect(acks.every((a) => a.afterMs < ACK_WITHIN_MS)).toBe(true);
    for (const { envelopeId } of sent) expect(socket.tally(envelopeId)).toEqual({ deliveries: 1, acks: 1 });
    // Both connections had their share.
    expect(new Set(acks.map((a) => a.connection)).size).toBe(2);
    await settlesAt(acceptedByAll, payloads.length, 'every command accepted');
    const perReplica = await Promise.all(replicas.map((r) => accepted(r, 'scale')));
    expect(perReplica.every((n) => n > 0)).toBe(true);
    expect((await planJobs(replicas[0]!)).sort()).toEqual(
      payloads.map((p) => planJobOf(p.trigger_id!)).sort(),
    );
  });

  it('loses nothing when one replica stops while envelopes are in flight: the other takes what was not acknowledged', async () => {
    const before = await acceptedByAll();
    const payloads = Array.from({ length: 10 }, (_, i) => change(`U0STOPPING${i}`));
    const sent = payloads.map((payload) => socket.send('slash_commands', payload));
    const [, leaving] = replicas as [TestBot, TestBot];
    await leaving.bot.web!.stop();
    const acks = await Promise.all(sent.map((s) => s.acked));
    expect(acks.every((a) => a.afterMs < ACK_WITHIN_MS)).toBe(true);
    expect(socket.openConnections).toHaveLength(1);
    expect(socket.acks.filter((a) => a.extra)).toEqual([]);
    await settlesAt(async () => (await acceptedByAll()) - before, payloads.length, 'every command accepted');
    const jobs = await planJobs(replicas[0]!);
    for (const payload of payloads) expect(jobs).toContain(planJobOf(payload.trigger_id!));
    expect(new Set(jobs).size).toBe(jobs.length);
  });
});

describe('Socket Mode readiness and start-up', () => {
  it('answers /readyz 503 naming the socket while it is down, 200 once it is back; /healthz stays 200', async () => {
    const t = await startTestBot({ role: 'web', socketMode: true });
    try {
      const socket = t.socket!;
      const [first] = (await socket.waitForConnections(1)) as [number];
      // Slack's API fails twice before the next apps.connections.open goes through: the bot retries.
      socket.failNextOpens(2, { status: 500 });
      socket.drop(first);
      const down = await waitFor(
        () => readiness(t.url),
        (r) => r.status === 503,
        { what: 'readiness while the socket is down' },
      );
      expect(down.body).toEqual({
        status: 'not ready',
        redis: 'ok',
        slackSocket: expect.stringMatching(
          /^Socket Mode (disconnected|connecting) \(reconnecting\) since \d{4}-/,
        ),
      });
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
      const back = await waitFor(
        () => readiness(t.url),
        (r) => r.status === 200,
        { what: 'readiness after the socket reconnected', timeoutMs: 25_000 },
      );
      expect(back.body.slackSocket).toBe('ok');
      expect(socket.opens.map((o) => o.ok)).toEqual([true, false, false, true]);
      const ack = await socket.slashCommand({ text: 'help', user: ENGINEER }).acked;
      expect((ack.payload as { text: string }).text).toContain('status <environment>');
    } finally {
      await t.stop();
    }
  }, 40_000);

  it('reports a socket Slack will not reopen (the app token revoked meanwhile) as failed, without a crash', async () => {
    const t = await startTestBot({ role: 'web', socketMode: true });
    try {
      const socket = t.socket!;
      const [first] = (await socket.waitForConnections(1)) as [number];
      socket.failNextOpens(1, { status: 200, error: 'invalid_auth' });
      socket.disconnect(first, 'refresh_requested');
      const failed = await waitFor(
        () => readiness(t.url),
        (r) => r.status === 503 && /failed/.test(r.body.slackSocket ?? ''),
        { what: 'readiness saying the socket failed', timeoutMs: 15_000 },
      );
      expect(failed.body.slackSocket).toMatch(/^Socket Mode failed \(.*invalid_auth\) since /);
      // The HTTP side goes on.
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    } finally {
      await t.stop();
    }
  }, 30_000);

  it('fails the start, naming SLACK_APP_TOKEN, when Slack refuses the app token', async () => {
    const slack = await new SimulatedSlack().start();
    const socket = await new SlackSocketServer({ upstream: slack }).start();
    try {
      await expect(
        startTestBot({ role: 'web', socketMode: socket, env: { SLACK_APP_TOKEN: 'xapp-1-revoked' } }),
      ).rejects.toThrow(
        expect.objectContaining({
          name: 'ConfigError',
          message: expect.stringMatching(
            /^environment SLACK_APP_TOKEN: Slack refused the Socket Mode connection \(.*invalid_auth\)/,
          ),
        }),
      );
      expect(socket.opens).toEqual([expect.objectContaining({ ok: false, error: 'invalid_auth' })]);
    } finally {
      await socket.stop();
      await slack.stop();
    }
  });
});
