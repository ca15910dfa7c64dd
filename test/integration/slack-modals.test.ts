import {
  App,
  HTTPReceiver,
  LogLevel,
  type BlockAction,
  type ButtonAction,
  type ViewClosedAction,
  type ViewSubmitAction,
} from '@slack/bolt';
import type { View } from '@slack/types';
import { WebClient, type WebAPICallResult } from '@slack/web-api';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../src/kernel/log';
import { slackLogger } from '../../src/kernel/slack/logger';
import { createMetrics } from '../../src/kernel/metrics';
import { guardSlackEndpoint, SLACK_BODY_LIMIT } from '../../src/web/slack-gate';
import { checkSlackBody, checkSocketFrame, FORM_CONTENT_TYPE } from '../../src/web/slack-shape';
import { SimulatedSlack } from '../../sandbox/slack-api';
import { viewSubmissionBody } from '../../sandbox/slack-requests';
import { simulatedSlackClient } from '../kit/slack-client';
import type { SimulatedView } from '../../sandbox/slack-views';
import {
  buttonClickBody,
  sendButtonClick,
  sendViewClosed,
  sendViewSubmission,
  viewSubmissionPayload,
} from '../kit/slack-requests';

const APPROVER = 'U0APPROVER1';
const CONFIRM = 'azora:confirm-restore';

/** The restore confirmation the bot opens on Approve: type the environment's name. */
function confirmView(requestId: string, extra: Partial<View> = {}): View {
  return {
    type: 'modal',
    callback_id: CONFIRM,
    private_metadata: requestId,
    title: { type: 'plain_text', text: 'Confirm the restore' },
    submit: { type: 'plain_text', text: 'Restore' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: '*Restore production* from the backup of <!date^1700000000^{date}|Nov 14>',
        },
      },
      {
        type: 'input',
        block_id: 'confirm',
        label: { type: 'plain_text', text: 'Type production to confirm' },
        element: { type: 'plain_text_input', action_id: 'typed' },
      },
    ],
    ...extra,
  } as View;
}

/** What the simulated Slack answers when a call fails: the error and Slack's lines about it. */
async function failure(call: Promise<WebAPICallResult>): Promise<{ error: string; messages?: string[] }> {
  try {
    await call;
  } catch (err) {
    const data = (err as { data?: WebAPICallResult & { error?: string } }).data;
    if (!data) throw err;
    return {
      error: String(data.error),
      ...(data.response_metadata?.messages ? { messages: data.response_metadata.messages } : {}),
    };
  }
  throw new Error('the call succeeded');
}

describe('modals in the simulated Slack: views.open, push and update as Slack answers them', () => {
  let slack: SimulatedSlack;
  let client: WebClient;

  beforeAll(async () => {
    slack = await new SimulatedSlack().start();
    client = simulatedSlackClient(slack);
  });

  afterAll(async () => {
    await slack.stop();
  });

  it('opens a modal for the person whose click issued the trigger id, once, within 3 s', async () => {
    // The click's payload carries a fresh trigger id, issued for the person clicking.
    const payload = JSON.parse(
      new URLSearchParams(buttonClickBody({ user: APPROVER, actionId: 'approve' })).get('payload')!,
    ) as BlockAction;
    expect(payload.trigger_id).toMatch(/^\d{13}\.\d+\.[0-9a-f]+$/);

    const opened = await client.views.open({
      trigger_id: payload.trigger_id,
      view: confirmView('r0000abcd'),
    });
    expect(opened.ok).toBe(true);
    expect(opened.view).toMatchObject({
      id: expect.stringMatching(/^V[0-9A-Z]{10}$/),
      hash: expect.stringMatching(/^\d+\.[0-9a-f]{8}$/),
      type: 'modal',
      callback_id: CONFIRM,
      private_metadata: 'r0000abcd',
      previous_view_id: null,
      notify_on_close: false,
      state: { values: {} },
    });
    expect(opened.view!.root_view_id).toBe(opened.view!.id);

    const held = slack.view(opened.view!.id!)!;
    expect(held).toMatchObject({ user: APPROVER, state: 'open' });
    expect(slack.openViews(APPROVER)).toEqual([held]);
    expect(slack.views).toContain(held);

    // A trigger id is spent by its first exchange.
    expect(
      await failure(client.views.open({ trigger_id: payload.trigger_id, view: confirmView('r0000abcd') })),
    ).toEqual({
      error: 'exchanged_trigger_id',
    });
  });

  it('refuses a trigger id older than 3 s, and one it never issued', async () => {
    const stale = slack.issueTriggerId(APPROVER, Date.now() - 3_001);
    expect(await failure(client.views.open({ trigger_id: stale, view: confirmView('r1') }))).toEqual({
      error: 'expired_trigger_id',
    });
    // Through the kit's option, as a test of the bot's late views.open would send it.
    const click = JSON.parse(
      new URLSearchParams(
        buttonClickBody({
          user: APPROVER,
          actionId: 'approve',
          triggerId: slack.issueTriggerId(APPROVER, Date.now() - 10_000),
        }),
      ).get('payload')!,
    ) as BlockAction;
    expect(
      await failure(client.views.open({ trigger_id: click.trigger_id, view: confirmView('r1') })),
    ).toEqual({
      error: 'expired_trigger_id',
    });
    expect(
      await failure(client.views.open({ trigger_id: '12345.98765.abcd2358fdea', view: confirmView('r1') })),
    ).toEqual({
      error: 'invalid_trigger_id',
    });
  });

  it('checks the view as Slack does, without spending the trigger id', async () => {
    const trigger = slack.issueTriggerId(APPROVER);
    const refused = async (view: unknown) =>
      failure(client.views.open({ trigger_id: trigger, view: view as View }));

    expect(await refused(confirmView('r1', { title: { type: 'plain_text', text: 'x'.repeat(25) } }))).toEqual(
      {
        error: 'invalid_arguments',
        messages: ['[ERROR] must be less than 25 characters [json-pointer:/view/title/text]'],
      },
    );
    expect(await refused({ ...confirmView('r1'), submit: undefined })).toEqual({
      error: 'invalid_arguments',
      messages: ['[ERROR] must provide a submit property when using input blocks [json-pointer:/view]'],
    });
    const divider = { type: 'divider' };
    expect((await refused(confirmView('r1', { blocks: Array(101).fill(divider) }))).messages).toEqual([
      '[ERROR] must contain no more than 100 items [json-pointer:/view/blocks]',
    ]);
    expect((await refused(confirmView('x'.repeat(3001)))).messages).toEqual([
      '[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]',
    ]);
    expect((await refused(confirmView('r1', { callback_id: 'c'.repeat(256) }))).messages).toEqual([
      '[ERROR] must be less than 256 characters [json-pointer:/view/callback_id]',
    ]);
    expect((await refused({ ...confirmView('r1'), type: 'home' })).messages).toEqual([
      '[ERROR] must be one of the following: modal [json-pointer:/view/type]',
    ]);
    expect(
      (await refused({ ...confirmView('r1'), title: { type: 'mrkdwn', text: '*x*' } })).messages,
    ).toEqual(['[ERROR] must be one of the following: plain_text [json-pointer:/view/title/type]']);
    // Every refusal above left the trigger id unspent.
    expect((await client.views.open({ trigger_id: trigger, view: confirmView('r1') })).ok).toBe(true);
  });

  it('updates a view by id, refusing a stale hash; pushes up to three views', async () => {
    const opened = (
      await client.views.open({ trigger_id: slack.issueTriggerId(APPROVER), view: confirmView('r2') })
    ).view!;
    const updated = await client.views.update({
      view_id: opened.id!,
      hash: opened.hash!,
      view: confirmView('r2', { title: { type: 'plain_text', text: 'Restoring…' } }),
    });
    expect(updated.view).toMatchObject({ id: opened.id, title: { text: 'Restoring…' } });
    expect(updated.view!.hash).not.toBe(opened.hash);
    // The hash the update answered is the current one; the first is stale now.
    expect(
      await failure(
        client.views.update({ view_id: opened.id!, hash: opened.hash!, view: confirmView('r2') }),
      ),
    ).toEqual({
      error: 'hash_conflict',
    });
    // Without a hash, the last update wins.
    expect((await client.views.update({ view_id: opened.id!, view: confirmView('r2') })).ok).toBe(true);
    expect(await failure(client.views.update({ view_id: 'VNOSUCHVIEW', view: confirmView('r2') }))).toEqual({
      error: 'not_found',
    });

    const second = await client.views.push({
      trigger_id: slack.issueTriggerId(APPROVER),
      view: confirmView('r2'),
    });
    expect(second.view).toMatchObject({ root_view_id: opened.id, previous_view_id: opened.id });
    await client.views.push({ trigger_id: slack.issueTriggerId(APPROVER), view: confirmView('r2') });
    expect(slack.openViews(APPROVER).map((v) => v.id)[0]).toBe(opened.id);
    expect(slack.openViews(APPROVER)).toHaveLength(3);
    expect(
      await failure(
        client.views.push({ trigger_id: slack.issueTriggerId(APPROVER), view: confirmView('r2') }),
      ),
    ).toEqual({
      error: 'push_limit_reached',
    });

    // A new views.open replaces the person's stack.
    await client.views.open({ trigger_id: slack.issueTriggerId(APPROVER), view: confirmView('r3') });
    expect(slack.openViews(APPROVER).map((v) => v.view.private_metadata)).toEqual(['r3']);
    expect(slack.view(opened.id!)).toMatchObject({ state: 'closed', closedBy: 'cleared' });
  });

  it('applies the answers to a submission as Slack does', async () => {
    const user = 'U0OTHER';
    const opened = await client.views.open({
      trigger_id: slack.issueTriggerId(user),
      view: confirmView('r4'),
    });
    const view = slack.view(opened.view!.id!)!;
    const settle = (status: number, body: unknown) =>
      slack.settleViewSubmission(view.id, {
        status,
        text: typeof body === 'string' ? body : JSON.stringify(body),
      });

    // Errors must name input blocks; a failed answer leaves the modal as it was.
    expect(settle(200, { response_action: 'errors', errors: { nope: 'x' } })).toEqual({
      kind: 'refused',
      reason: 'errors names "nope", which is no input block of the view',
    });
    expect(settle(500, '')).toEqual({ kind: 'refused', reason: 'the app answered 500' });
    expect(settle(200, { response_action: 'sideways' })).toEqual({
      kind: 'refused',
      reason: 'unknown response_action "sideways"',
    });
    expect(view.state).toBe('open');

    const hash = view.view.hash;
    const done = confirmView('r4', { title: { type: 'plain_text', text: 'Done' } });
    expect(settle(200, { response_action: 'update', view: done })).toEqual({ kind: 'updated' });
    expect(view.view).toMatchObject({ id: opened.view!.id, title: { text: 'Done' } });
    expect(view.view.hash).not.toBe(hash);

    const pushed = settle(200, { response_action: 'push', view: confirmView('r5') });
    expect(pushed).toMatchObject({ kind: 'pushed', viewId: expect.stringMatching(/^V/) });
    expect(slack.openViews(user).map((v) => v.view.private_metadata)).toEqual(['r4', 'r5']);

    expect(settle(200, { response_action: 'clear' })).toEqual({ kind: 'cleared' });
    expect(slack.openViews(user)).toEqual([]);
    expect(view.closedBy).toBe('cleared');
  });
});

describe('a modal submitted to a Bolt app behind the bot web layer', () => {
  let slack: SimulatedSlack;
  let app: App;
  let url: string;
  const secret = 'modal-test-secret';
  const submissions: ViewSubmitAction[] = [];
  const closings: ViewClosedAction[] = [];

  beforeAll(async () => {
    slack = await new SimulatedSlack().start();
    const logger = createLogger('silent');
    // Quiet: the late views.open below fails in its listener on purpose.
    const quiet = slackLogger(logger);
    const receiver = new HTTPReceiver({
      signingSecret: secret,
      endpoints: ['/slack/events'],
      logger: quiet,
      logLevel: LogLevel.ERROR,
    });
    app = new App({
      token: slack.botToken,
      botId: 'B0AZORABOT',
      botUserId: 'U0AZORABOT',
      receiver,
      logger: quiet,
      clientOptions: { slackApiUrl: slack.apiUrl, logger: quiet, retryConfig: { retries: 0 } },
    });
    // The bot's own gate in front: it screens every signed body before Bolt routes it.
    guardSlackEndpoint(receiver, app, {
      signingSecret: secret,
      endpoints: ['/slack/events'],
      bodyLimit: SLACK_BODY_LIMIT,
      logger,
      metrics: createMetrics(),
    });
    app.action<BlockAction<ButtonAction>>('approve', async ({ ack, body, action, client }) => {
      await ack();
      await client.views.open({
        trigger_id: body.trigger_id,
        view: confirmView(action.value ?? '', { notify_on_close: action.value === 'r-notify' }),
      });
    });
    app.view<ViewSubmitAction>(CONFIRM, async ({ ack, body, view }) => {
      submissions.push(body);
      const typed = view.state.values['confirm']?.['typed']?.value?.trim() ?? '';
      if (typed !== 'production') {
        await ack({ response_action: 'errors', errors: { confirm: 'type production to confirm' } });
        return;
      }
      await ack();
    });
    app.view<ViewClosedAction>({ callback_id: CONFIRM, type: 'view_closed' }, async ({ ack, body }) => {
      closings.push(body);
      await ack();
    });
    const server = (await app.start(0)) as Server;
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.stop();
    await slack?.stop();
  });

  const openedFor = async (requestId: string): Promise<SimulatedView> => {
    const click = await sendButtonClick(url, secret, {
      user: APPROVER,
      actionId: 'approve',
      value: requestId,
    });
    expect(click.status).toBe(200);
    return slack.waitForView((v) => v.view.private_metadata === requestId && v.state === 'open');
  };

  it('opens on Approve, shows the errors the app acknowledges with, and closes on an empty 200', async () => {
    const opened = await openedFor('r0123abcd');
    expect(opened.user).toBe(APPROVER);

    const wrong = await sendViewSubmission(url, secret, {
      view: opened,
      values: { confirm: { typed: 'staging' } },
      slack,
    });
    expect(wrong.status).toBe(200);
    expect(wrong.body).toEqual({
      response_action: 'errors',
      errors: { confirm: 'type production to confirm' },
    });
    expect(wrong.outcome).toEqual({ kind: 'errors', errors: { confirm: 'type production to confirm' } });
    expect(slack.view(opened.id)).toMatchObject({
      state: 'open',
      errors: { confirm: 'type production to confirm' },
    });

    // What Bolt handed the listener: Slack's view_submission, with the view and what was typed.
    const first = submissions[0]!;
    expect(first).toMatchObject({
      type: 'view_submission',
      team: { id: 'T0AZORA' },
      user: { id: APPROVER },
      api_app_id: 'A0AZORA',
      trigger_id: expect.stringMatching(/^\d{13}\.\d+\.[0-9a-f]+$/),
      view: {
        id: opened.id,
        callback_id: CONFIRM,
        private_metadata: 'r0123abcd',
        hash: opened.view.hash,
        state: { values: { confirm: { typed: { type: 'plain_text_input', value: 'staging' } } } },
      },
    });

    const right = await sendViewSubmission(url, secret, {
      view: opened,
      values: { confirm: { typed: ' production ' } },
      slack,
    });
    expect(right.status).toBe(200);
    expect(right.body).toBeUndefined();
    expect(right.outcome).toEqual({ kind: 'closed' });
    expect(slack.view(opened.id)).toMatchObject({ state: 'closed', closedBy: 'submission' });
    expect(slack.view(opened.id)!.submissions.map((s) => s.kind)).toEqual(['errors', 'closed']);
  });

  it('sends an empty input as Slack does (value null), which the app refuses', async () => {
    const opened = await openedFor('r-empty');
    const answer = await sendViewSubmission(url, secret, { view: opened, slack });
    expect(answer.body).toMatchObject({ response_action: 'errors' });
    expect(submissions.at(-1)!.view.state.values).toEqual({
      confirm: { typed: { type: 'plain_text_input', value: null } },
    });
  });

  it('passes the bot web layer: the shape checks route view_submission as a view, over HTTP and Socket Mode', async () => {
    const opened = await openedFor('r-shape');
    const form = viewSubmissionBody({ user: APPROVER, userName: 'amara', view: opened.view, values: {} });
    expect(checkSlackBody(form, FORM_CONTENT_TYPE)).toEqual({
      ok: true,
      kind: 'interaction',
      type: 'view_submission',
    });
    const envelope = JSON.stringify({
      envelope_id: 'e1',
      type: 'interactive',
      accepts_response_payload: true,
      payload: viewSubmissionPayload({ view: opened, values: { confirm: { typed: 'production' } } }),
    });
    expect(checkSocketFrame(envelope)).toEqual({
      ok: true,
      kind: 'interaction',
      type: 'view_submission',
      envelopeId: 'e1',
    });
  });

  it('tells the app of a Close only when the view asked for it', async () => {
    const quiet = await openedFor('r-quiet');
    expect(await sendViewClosed(url, secret, { view: quiet, slack })).toBeUndefined();
    expect(slack.view(quiet.id)).toMatchObject({ state: 'closed', closedBy: 'user' });

    const notify = await openedFor('r-notify');
    const answer = await sendViewClosed(url, secret, { view: notify, slack });
    expect(answer?.status).toBe(200);
    expect(closings).toHaveLength(1);
    expect(closings[0]).toMatchObject({
      type: 'view_closed',
      is_cleared: false,
      view: { id: notify.id, private_metadata: 'r-notify' },
    });
  });

  it('a views.open after the 3 s fails as with Slack: the click carried an expired trigger id', async () => {
    const stale = slack.issueTriggerId(APPROVER, Date.now() - 4_000);
    const failed = slack.waitForCall((c) => c.method === 'views.open' && c.args.trigger_id === stale);
    await sendButtonClick(url, secret, {
      user: APPROVER,
      actionId: 'approve',
      value: 'r-late',
      triggerId: stale,
    });
    await failed;
    expect(slack.views.some((v) => v.view.private_metadata === 'r-late')).toBe(false);
  });
});
