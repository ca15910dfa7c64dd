import type { Locator, Page } from 'playwright-core';
import { openSandboxPage, type SandboxPage } from './browser';

const ENGINEER = 'U0ENGINEER';
const ALERT = 'AzoraDatabaseConnectionFailures';
const PINNED_TEXT = 'replica 2 refuses connections: max_connections reached';

describe('an incident declared from an alert thread in the sandbox workspace, run and resolved there', () => {
  let opened: SandboxPage;
  let page: Page;

  beforeAll(async () => {
    opened = await openSandboxPage('incidents');
    ({ page } = opened);
    await page.selectOption('#user-switcher', ENGINEER);
  }, 60_000);

  afterAll(async () => {
    expect(await opened?.close()).toBe(0);
  }, 30_000);

  const composer = () => page.locator('#composer-input');
  const type = async (text: string) => {
    await composer().fill(text);
    await composer().press('Enter');
  };
  const channelMessages = () => page.locator('#messages .msg');
  const incidentChannel = (): Locator => page.locator('#channel-list [data-channel-name^="inc-"]');
  let channelName = '';

  it('declares from a critical alert: the new inc- channel shows in the sidebar, the on-call in it', async () => {
    await page.locator('#alerts-button').click();
    await page.locator(`[data-alert="${ALERT}"]`).getByRole('button', { name: 'Fire' }).click();
    await page.locator('[data-channel-name="incidents"]').click();
    const alert = channelMessages().filter({ hasText: ALERT });
    const declare = alert.getByRole('button', { name: 'Declare incident' });
    await declare.waitFor({ timeout: 15_000 });
    await declare.click();

    await incidentChannel().waitFor({ timeout: 15_000 });
    channelName = (await incidentChannel().getAttribute('data-channel-name')) ?? '';
    expect(channelName).toMatch(/^inc-\d{8}-/);
    await incidentChannel().click();
    await page.locator('#channel-name', { hasText: `# ${channelName}` }).waitFor();
    // The declarer and the simulated PagerDuty's on-call (matched by e-mail) were invited, with the bot.
    // The channel shows as soon as it is created; the invitations follow, and the header with them.
    const members = page.locator('#channel-meta .member-count[title*="Approver Amara"]');
    await members.waitFor({ timeout: 15_000 });
    expect(await members.getAttribute('title')).toContain('Engineer Erin');
    expect(Number(/(\d+) members/.exec((await members.textContent()) ?? '')?.[1])).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it('shows the summary, pinned, and the pin count in the channel header', async () => {
    const summary = channelMessages().filter({ has: page.locator('.pinned-label') });
    await summary.first().waitFor({ timeout: 15_000 });
    expect(await summary.first().textContent()).toContain(ALERT);
    await page.locator('#channel-meta .pin-count', { hasText: '1 pinned' }).waitFor();
    expect(await page.locator('#channel-topic').textContent()).toMatch(/investigating/i);
  }, 20_000);

  it('takes a :pushpin: on what a responder says as a reaction_added, and shows it with its count', async () => {
    await type(PINNED_TEXT);
    const said = channelMessages().filter({ hasText: PINNED_TEXT });
    await said.waitFor();
    await said.hover();
    await said.getByRole('button', { name: 'Add reaction' }).click();
    await said.locator('.reaction-picker [data-react="pushpin"]').click();
    const pill = said.locator('.reaction.mine[data-react="pushpin"]');
    await pill.waitFor();
    expect(await pill.locator('.reaction-count').textContent()).toBe('1');
  }, 20_000);

  it('runs the incident from its channel: a note, then a status the topic follows', async () => {
    await type('/azora incident note checking the db');
    await type('/azora incident status identified');
    await page.locator('#channel-topic', { hasText: /identified/i }).waitFor({ timeout: 15_000 });
    // Nothing the bot answered in the channel is a refusal.
    expect(await channelMessages().filter({ hasText: 'failed' }).count()).toBe(0);
  }, 20_000);

  it('resolves: the postmortem draft is a file card whose Markdown holds the note and the pinned message', async () => {
    await type('/azora incident resolve fixed');
    const card = page.locator('#messages .file-card', { hasText: 'Postmortem' });
    await card.waitFor({ timeout: 20_000 });
    expect(await card.locator('.file-name').textContent()).toBe(`postmortem-${channelName}.md`);
    expect(await card.locator('.file-size').textContent()).toMatch(/^[\d.]+ (B|KB)$/);
    await card.click();
    const content = card.locator('.file-content');
    await content.filter({ hasNotText: 'Loading…' }).waitFor();
    const markdown = (await content.textContent()) ?? '';
    expect(markdown).toContain('checking the db');
    expect(markdown).toContain(PINNED_TEXT);
    await page.locator('#channel-topic', { hasText: /resolved/i }).waitFor({ timeout: 10_000 });
  }, 30_000);
});
