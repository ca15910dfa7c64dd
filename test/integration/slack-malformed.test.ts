import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/kernel/log';
import { createMetrics } from '../../src/kernel/metrics';
import { answerUnprocessable, guardSlackEndpoint, SLACK_BODY_LIMIT } from '../../src/web/slack-gate';
import { startTestBot, type TestBot } from '../kit/bot';
import { payloadForm, postWithin, signedSlackRequest, type FuzzAnswer } from '../kit/slack-fuzz';
import { buttonClickBody, signedHeaders, slashCommandBody } from '../kit/slack-requests';

/** Well under Bolt's 3 s timer: an answer that only comes from that timer fails the test. */
const AT_ONCE_MS = 1_000;

const clickPayload = (): Record<string, unknown> => {
  const form = new URLSearchParams(
    buttonClickBody({ user: 'U0ENGINEER', actionId: 'azora:approve:r00000001' }),
  );
  return JSON.parse(form.get('payload')!) as Record<string, unknown>;
};

const without = (body: Record<string, unknown>, key: string) => {
  const { [key]: _dropped, ...rest } = body;
  return rest;
};

describe('signed Slack bodies the bot cannot route', () => {
  let t: TestBot;
  beforeAll(async () => {
    t = await startTestBot({ role: 'web' });
  });
  afterAll(() => t.stop());

  const send = (body: string, contentType?: string): Promise<FuzzAnswer> =>
    postWithin(t.url, signedSlackRequest(body, t.secret, contentType ? { contentType } : {}), AT_ONCE_MS);

  const queued = async () => {
    const counts = await Promise.all(
      (['ops', 'notify'] as const).map((name) =>
        t.bot.queues.get(name).getJobCountByTypes('wait', 'active', 'delayed'),
      ),
    );
    return counts.reduce((a, b) => a + b, 0);
  };

  const refusedCount = async () => {
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    const line = /^azora_slack_requests_total\{kind="malformed",outcome="refused"\} (\d+)$/m.exec(metrics);
    return Number(line?.[1] ?? 0);
  };

  it('answers a signed payload=null with 400 at once (it used to leave the request open)', async () => {
    const before = await refusedCount();
    const res = await send('payload=null');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toEqual({ error: 'malformed Slack request: payload is not a JSON object' });
    expect(await refusedCount()).toBe(before + 1);
  });

  it.each([['[]'], ['"x"'], ['1'], ['true'], ['{}'], ['{"type":null}'], ['not json'], ['']])(
    'answers a signed payload=%s with 400 at once',
    async (payload) => {
      const res = await send(payloadForm(payload));
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text)).toHaveProperty('error');
    },
  );

  const brokenClicks: [string, Record<string, unknown>][] = [
    ['without user', without(clickPayload(), 'user')],
    ['with user null', { ...clickPayload(), user: null }],
    ['with user a string', { ...clickPayload(), user: 'U0ENGINEER' }],
    ['with user.id a number', { ...clickPayload(), user: { id: 42 } }],
    ['without actions', without(clickPayload(), 'actions')],
    ['with actions empty', { ...clickPayload(), actions: [] }],
    ['with actions a string', { ...clickPayload(), actions: 'azora:approve:r1' }],
    ['with actions an object', { ...clickPayload(), actions: { action_id: 'azora:approve:r1' } }],
    ['with actions [null]', { ...clickPayload(), actions: [null] }],
    ['without action_id', { ...clickPayload(), actions: [{ type: 'button', block_id: 'b' }] }],
    ['with action_id a number', { ...clickPayload(), actions: [{ type: 'button', action_id: 7 }] }],
    ['without response_url', without(clickPayload(), 'response_url')],
    ['with response_url a number', { ...clickPayload(), response_url: 7 }],
    ['with response_url empty (Bolt then gives no respond())', { ...clickPayload(), response_url: '' }],
    [
      'without action_ts',
      { ...clickPayload(), actions: [{ type: 'button', action_id: 'azora:deny:r1', block_id: 'b' }] },
    ],
    ['with channel null', { ...clickPayload(), channel: null }],
    ['with a name (Bolt would take it for options)', { ...clickPayload(), name: 'x' }],
    ['with an event (Bolt would take it for an event)', { ...clickPayload(), event: 'x' }],
  ];
  it.each(brokenClicks)('answers block_actions %s with 400, not 500, at once', async (_name, payload) => {
    const callsBefore = t.slack.calls.length;
    const res = await send(payloadForm(payload));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toHaveProperty('error');
    expect(t.slack.calls.length).toBe(callsBefore);
    expect(await queued()).toBe(0);
  });

  it.each([
    ['a form with neither command nor payload', 'foo=bar', undefined],
    [
      'a form whose fields repeat',
      `${slashCommandBody({ text: 'help', user: 'U0ENGINEER' })}&text=again`,
      undefined,
    ],
    [
      'a slash command without user_id',
      slashCommandBody({ text: 'help', user: 'U1' }).replace(/user_id=U1&/, ''),
      undefined,
    ],
    [
      'a slash command with an event field',
      `${slashCommandBody({ text: 'help', user: 'U1' })}&event=x`,
      undefined,
    ],
    ['a payload of unknown type', payloadForm({ type: 'mystery', user: { id: 'U1' } }), undefined],
    [
      'view_submission without a view',
      payloadForm({ type: 'view_submission', user: { id: 'U1' } }),
      undefined,
    ],
    ['a JSON object of no known type', '{"hello":"world"}', 'application/json'],
    ['JSON null', 'null', 'application/json'],
    ['an event_callback with event null', '{"type":"event_callback","event":null}', 'application/json'],
    [
      'an event_callback whose event.channel is null',
      '{"type":"event_callback","event":{"type":"message","channel":null}}',
      'application/json',
    ],
    [
      'a function_executed event without its execution id',
      '{"type":"event_callback","event":{"type":"function_executed"}}',
      'application/json',
    ],
    ['a form sent as JSON', slashCommandBody({ text: 'help', user: 'U1' }), 'application/json'],
  ])('answers %s with 400 before Bolt’s 3 s timer', async (_name, body, contentType) => {
    const res = await send(body, contentType);
    expect(res.status).toBe(400);
  });

  it.each([
    [
      'a slash command of another app',
      slashCommandBody({ text: 'x', user: 'U1' }).replace('%2Fazora', '%2Fother'),
      undefined,
    ],
    [
      'a button that is not the bot’s',
      payloadForm({
        ...clickPayload(),
        actions: [{ type: 'button', action_id: 'elsewhere', block_id: 'b', action_ts: '1' }],
      }),
      undefined,
    ],
    [
      'a view_submission no listener takes',
      payloadForm({
        type: 'view_submission',
        user: { id: 'U1' },
        team: null,
        view: { id: 'V1', callback_id: 'nobody', state: { values: {} } },
      }),
      undefined,
    ],
    [
      'a global shortcut',
      payloadForm({
        type: 'shortcut',
        user: { id: 'U1' },
        team: { id: 'T1' },
        callback_id: 'cb',
        trigger_id: 't',
      }),
      undefined,
    ],
    [
      'an event the bot has no listener for',
      JSON.stringify({
        type: 'event_callback',
        team_id: 'T1',
        event: { type: 'app_mention', user: 'U1', channel: 'C1', text: 'hi', ts: '1.2' },
      }),
      'application/json',
    ],
    [
      'app_rate_limited',
      JSON.stringify({ type: 'app_rate_limited', team_id: 'T1', minute_rate_limited: 1 }),
      'application/json',
    ],
  ])('acknowledges %s with 200 at once', async (_name, body, contentType) => {
    const callsBefore = t.slack.calls.length;
    const res = await send(body, contentType);
    expect(res.status).toBe(200);
    expect(t.slack.calls.length).toBe(callsBefore);
  });

  it('still answers url_verification with the challenge, and ssl_check with 200', async () => {
    const verification = await send(
      JSON.stringify({ type: 'url_verification', challenge: 'c-123', token: 't' }),
      'application/json',
    );
    expect(verification.status).toBe(200);
    expect(JSON.parse(verification.text)).toEqual({ challenge: 'c-123' });
    // Slack's ssl_check is not signed, and is answered whatever else the form says.
    const ssl = await postWithin(
      t.url,
      {
        path: '/slack/events',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'ssl_check=1&payload=null',
      },
      AT_ONCE_MS,
    );
    expect(ssl.status).toBe(200);
  });

  it('still answers a well-formed /azora help and a known button', async () => {
    const help = await send(slashCommandBody({ text: 'help', user: 'U0ENGINEER' }));
    expect(help.status).toBe(200);
    expect((JSON.parse(help.text) as { text: string }).text).toContain('status <environment>');
    const click = await send(buttonClickBody({ user: 'U0ENGINEER', actionId: 'azora:reboot:r0000001' }));
    expect(click.status).toBe(200);
  });

  describe('signatures come first: the shape of a badly signed body is never looked at', () => {
    it.each([
      ['payload=null', 'payload=null'],
      ['a well-formed command', slashCommandBody({ text: 'help', user: 'U0ENGINEER' })],
    ])('refuses %s signed with another secret with 401', async (_name, body) => {
      const headers = signedHeaders(body, 'not-the-signing-secret');
      const res = await postWithin(t.url, { path: '/slack/events', headers, body }, AT_ONCE_MS);
      expect(res.status).toBe(401);
    });

    it.each([
      ['payload=null', 'payload=null'],
      ['a well-formed command', slashCommandBody({ text: 'help', user: 'U0ENGINEER' })],
    ])('refuses %s correctly signed over 5 minutes ago with 401', async (_name, body) => {
      const stale = Math.floor(Date.now() / 1000) - 6 * 60;
      const res = await postWithin(
        t.url,
        signedSlackRequest(body, t.secret, { timestamp: stale }),
        AT_ONCE_MS,
      );
      expect(res.status).toBe(401);
    });

    it('refuses a request without signature headers with 401', async () => {
      const res = await postWithin(
        t.url,
        {
          path: '/slack/events',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'payload=null',
        },
        AT_ONCE_MS,
      );
      expect(res.status).toBe(401);
    });
  });
});

describe('the Slack gate on a bare Bolt app', () => {
  const SECRET = 'gate-test-secret';
  const lines: Record<string, unknown>[] = [];
  let server: Server;
  let url: string;
  let app: App;

  beforeAll(async () => {
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      }),
    );
    const receiver = new HTTPReceiver({
      signingSecret: SECRET,
      bodyLimit: SLACK_BODY_LIMIT,
      logLevel: LogLevel.ERROR,
      processEventErrorHandler: answerUnprocessable(logger),
    });
    app = new App({ token: 'xoxb-test', botId: 'B1', botUserId: 'U0BOT', receiver, convoStore: false });
    app.command('/azora', async ({ ack }) => ack('ok'));
    guardSlackEndpoint(receiver, app, {
      signingSecret: SECRET,
      endpoints: ['/slack/events'],
      bodyLimit: SLACK_BODY_LIMIT,
      logger,
      metrics: createMetrics(),
    });
    server = (await app.start(0)) as Server;
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => app.stop());
  beforeEach(() => {
    lines.length = 0;
  });

  it('logs one line for a refused body, saying why', async () => {
    const res = await postWithin(url, signedSlackRequest('payload=null', SECRET), AT_ONCE_MS);
    expect(res.status).toBe(400);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: 'refused a malformed Slack request',
        reason: 'payload is not a JSON object',
      }),
    ]);
  });

  it('logs one line for a request no listener took, and acknowledges it', async () => {
    const body = slashCommandBody({ text: 'x', user: 'U1' }).replace('%2Fazora', '%2Fother');
    const res = await postWithin(url, signedSlackRequest(body, SECRET), AT_ONCE_MS);
    expect(res.status).toBe(200);
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'no listener took a Slack request; acknowledged it',
        command: '/other',
      }),
    ]);
  });

  it('logs nothing for a request a listener took', async () => {
    const res = await postWithin(
      url,
      signedSlackRequest(slashCommandBody({ text: 'x', user: 'U1' }), SECRET),
      AT_ONCE_MS,
    );
    expect(res).toMatchObject({ status: 200, text: 'ok' });
    expect(lines).toEqual([]);
  });

  it('refuses a body over the limit with 413, as Bolt does', async () => {
    const body = `payload=${'x'.repeat(SLACK_BODY_LIMIT)}`;
    const res = await postWithin(url, signedSlackRequest(body, SECRET), 5_000);
    expect(res.status).toBe(413);
  });
});
