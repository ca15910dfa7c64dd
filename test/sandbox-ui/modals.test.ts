import { App, HTTPReceiver, type BlockAction, type ButtonAction, type ViewSubmitAction } from '@slack/bolt';
import type { View } from '@slack/types';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { defaultPolicyPath, loadPolicy } from '../../src/config/policy';
import { createLogger } from '../../src/kernel/log';
import { slackLogger } from '../../src/kernel/slack/logger';
import { SimulatedSlack } from '../../sandbox/slack-api';
import { Workspace } from '../../sandbox/workspace/workspace';

/*
 * The workspace page's modals, against a small Bolt app rather than the bot: the app opens
 * the restore confirmation on Approve and checks what was typed, as the bot will; the page,
 * the workspace server and the simulated Slack are the sandbox's own, run from the sources.
 */

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
];
const APPROVER = 'U0APPROVER1';
const CONFIRM = 'azora:confirm-restore';

function confirmView(requestId: string, notifyOnClose: boolean): View {
  return {
    type: 'modal',
    callback_id: CONFIRM,
    private_metadata: requestId,
    notify_on_close: notifyOnClose,
    title: { type: 'plain_text', text: 'Confirm the restore' },
    submit: { type: 'plain_text', text: 'Restore' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: '*Restore production* from backup `b-42`: it replaces the data.' },
      },
      {
        type: 'input',
        block_id: 'confirm',
        label: { type: 'plain_text', text: 'Type production to confirm' },
        hint: { type: 'plain_text', text: 'The name of the environment' },
        element: {
          type: 'plain_text_input',
          action_id: 'typed',
          placeholder: { type: 'plain_text', text: 'production' },
        },
      },
    ],
  };
}

describe('modals in the workspace page: opened by the app on a click, submitted and closed through the workspace', () => {
  const secret = 'modal-page-secret';
  const policy = loadPolicy(defaultPolicyPath());
  const ops = policy.channels.ops!;
  let noticed: (requestId: string) => void = () => undefined;
  const closedNotice = new Promise<string>((resolve) => (noticed = resolve));
  let slack: SimulatedSlack;
  let workspace: Workspace;
  let app: App;
  let context: BrowserContext | undefined;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    slack = await new SimulatedSlack().start();
    const logger = createLogger('silent');
    workspace = new Workspace({ slack, signingSecret: secret, alertmanagerToken: 'unused', policy, logger });
    const quiet = slackLogger(logger);
    app = new App({
      token: slack.botToken,
      botId: 'B0AZORABOT',
      botUserId: 'U0AZORABOT',
      receiver: new HTTPReceiver({ signingSecret: secret, customRoutes: workspace.routes(), logger: quiet }),
      logger: quiet,
      clientOptions: { slackApiUrl: slack.apiUrl, logger: quiet },
    });
    app.action<BlockAction<ButtonAction>>('approve', async ({ ack, body, action, client }) => {
      await ack();
      const requestId = action.value ?? '';
      await client.views.open({
        trigger_id: body.trigger_id,
        view: confirmView(requestId, requestId === 'r-notify'),
      });
    });
    app.view<ViewSubmitAction>(CONFIRM, async ({ ack, view }) => {
      const typed = view.state.values['confirm']?.['typed']?.value?.trim() ?? '';
      if (typed !== 'production') {
        await ack({ response_action: 'errors', errors: { confirm: 'type production to confirm' } });
        return;
      }
      await ack();
    });
    app.view({ callback_id: CONFIRM, type: 'view_closed' }, async ({ ack, view }) => {
      await ack();
      noticed(view.private_metadata);
    });
    const server = (await app.start(0)) as Server;
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // Two requests waiting for approval, as the bot posts them.
    for (const requestId of ['r0123abcd', 'r-notify']) {
      await app.client.chat.postMessage({
        channel: ops,
        text: `restore request ${requestId}`,
        blocks: [
          {
            type: 'section',
            text: { type: 'mrkdwn', text: `Erin asked to restore production (${requestId})` },
          },
          {
            type: 'actions',
            block_id: `decide-${requestId}`,
            elements: [
              {
                type: 'button',
                action_id: 'approve',
                value: requestId,
                style: 'primary',
                text: { type: 'plain_text', text: 'Approve' },
              },
            ],
          },
        ],
      });
    }

    profile = mkdtempSync(path.join(tmpdir(), 'azora-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 800 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${url}/sandbox`);
    await page.locator('#live.on').waitFor();
    await page.selectOption('#user-switcher', APPROVER);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    workspace?.close();
    await app?.stop();
    await slack?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  }, 30_000);

  const modal = () => page.locator('#modal-layer');
  const request = (requestId: string) => page.locator('#messages .msg').filter({ hasText: requestId });
  const input = () => modal().getByLabel('Type production to confirm');

  it('shows the modal the app opened for the person who clicked: title, text, input, buttons', async () => {
    await request('r0123abcd').getByRole('button', { name: 'Approve' }).click();
    await modal().waitFor({ state: 'visible' });
    const dialog = page.getByRole('dialog', { name: 'Confirm the restore' });
    await dialog.waitFor();
    // mrkdwn as in messages: bold and code.
    expect(await dialog.locator('.block-section b').textContent()).toBe('Restore production');
    expect(await dialog.locator('.block-section code').textContent()).toBe('b-42');
    expect(await input().getAttribute('placeholder')).toBe('production');
    expect(await dialog.locator('.input-hint').textContent()).toBe('The name of the environment');
    await dialog.getByRole('button', { name: 'Restore' }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).waitFor();
    // The input has the focus: typing goes there.
    expect(await input().evaluate((el) => el.matches(':focus'))).toBe(true);

    // Nobody else sees it.
    await page.selectOption('#user-switcher', 'U0ENGINEER');
    await modal().waitFor({ state: 'hidden' });
    await page.selectOption('#user-switcher', APPROVER);
    await modal().waitFor({ state: 'visible' });
  });

  it("keeps a required input from going out empty, as Slack does, then shows the app's errors under it", async () => {
    const calls = slack.calls.length;
    await modal().getByRole('button', { name: 'Restore' }).click();
    const error = modal().locator('.input-error');
    await error.filter({ hasText: 'Please complete this required field.' }).waitFor();
    expect(slack.calls.length).toBe(calls);

    await input().fill('staging');
    await modal().getByRole('button', { name: 'Restore' }).click();
    await error.filter({ hasText: 'type production to confirm' }).waitFor();
    expect(await modal().isVisible()).toBe(true);
    const [held] = slack.openViews(APPROVER);
    expect(held).toMatchObject({ errors: { confirm: 'type production to confirm' } });
    expect(held!.submissions).toEqual([
      { kind: 'errors', errors: { confirm: 'type production to confirm' } },
    ]);
  });

  it('closes on the empty answer to a right submission', async () => {
    const [held] = slack.openViews(APPROVER);
    await input().fill('production');
    await input().press('Enter');
    await modal().waitFor({ state: 'hidden' });
    expect(slack.view(held!.id)).toMatchObject({ state: 'closed', closedBy: 'submission' });
  });

  it('closes on Cancel, telling the app only when the view asked for it (notify_on_close)', async () => {
    await request('r0123abcd').getByRole('button', { name: 'Approve' }).click();
    await modal().waitFor({ state: 'visible' });
    const [quiet] = slack.openViews(APPROVER);
    await modal().getByRole('button', { name: 'Cancel' }).click();
    await modal().waitFor({ state: 'hidden' });
    await slack.waitForView((v) => v.id === quiet!.id && v.state === 'closed');
    expect(slack.view(quiet!.id)!.closedBy).toBe('user');

    await request('r-notify').getByRole('button', { name: 'Approve' }).click();
    await modal().waitFor({ state: 'visible' });
    await page.keyboard.press('Escape');
    await modal().waitFor({ state: 'hidden' });
    await slack.waitForView((v) => v.view.private_metadata === 'r-notify' && v.state === 'closed');
    // Only this one told the app: the first view_closed the app saw is its.
    expect(await closedNotice).toBe('r-notify');
  });
});
