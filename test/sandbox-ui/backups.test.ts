import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Locator, Page } from 'playwright-core';
import { openSandboxPage, type SandboxPage } from './browser';

const NAMESPACE = 'azora-production';
const ENGINEER = 'U0ENGINEER';
const APPROVER = 'U0APPROVER2';
const run = promisify(execFile);

interface JobList {
  items: Array<{ metadata: { name: string }; status: { succeeded?: number } }>;
}

describe('a database backup and an approved restore in the sandbox workspace, as a new user does them', () => {
  let opened: SandboxPage;
  let page: Page;
  let dir: string;

  beforeAll(async () => {
    opened = await openSandboxPage('backups');
    ({ page, dir } = opened);
  }, 60_000);

  afterAll(async () => {
    expect(await opened?.close()).toBe(0);
  }, 30_000);

  const composer = () => page.locator('#composer-input');
  const actAs = (user: string) => page.selectOption('#user-switcher', user);
  const channelMessages = () => page.locator('#messages .msg');
  const modal = () => page.locator('#modal-layer');
  const requestTo = (fragment: string): Locator =>
    channelMessages().filter({ hasText: 'asked to' }).filter({ hasText: fragment });

  /** Picks a suggestion the way a person does: type its start, click it, finish it if it asks for more, send it. */
  const suggest = async (start: string, example: string, rest = '') => {
    await composer().fill(start);
    const suggestion = page.locator(`#suggestions .suggestion[data-example="${example}"]`);
    await suggestion.waitFor();
    await suggestion.click();
    expect(await composer().inputValue()).toBe(example);
    if (rest) await composer().pressSequentially(rest);
    await composer().press('Enter');
  };

  let backupId = '';
  let requestId = '';

  it('backs up the production database from the suggestions: Job, duration and size', async () => {
    await actAs(ENGINEER);
    await suggest('/azora backup', '/azora backup production');
    const done = channelMessages().filter({ hasText: 'Backup of the production database' }).filter({
      hasText: 'done in',
    });
    await done.waitFor({ timeout: 20_000 });
    await done.locator('.emo[title=":white_check_mark:"]').waitFor();
    const text = (await done.textContent()) ?? '';
    expect(text).toMatch(/done in \S+: [\d.]+ (B|KiB|MiB|GiB)/);
    const job = /Job\s*(azora-backup-production-\d{8}-\d{4}-[0-9a-f]{4})/.exec(text);
    expect(job).not.toBeNull();
    backupId = job![1]!;
  }, 30_000);

  it('lists it, only for Erin, with the way to restore it', async () => {
    await suggest('/azora backups', '/azora backups production');
    const listing = channelMessages().filter({ hasText: 'Backups of the production database' });
    await listing.waitFor({ timeout: 15_000 });
    const text = (await listing.textContent()) ?? '';
    expect(text).toContain('Only visible to you');
    expect(text).toContain(backupId);
    expect(text).toContain(`/azora restore production <id>`);
  }, 20_000);

  it('asks for a restore of that backup: a request waiting for an approver', async () => {
    await suggest('/azora restore', '/azora restore production ', backupId);
    const request = requestTo(`restore production ${backupId}`);
    await request.getByRole('button', { name: 'Approve' }).waitFor({ timeout: 15_000 });
    await request.getByRole('button', { name: 'Deny' }).waitFor();
    const text = (await request.textContent()) ?? '';
    expect(text).toContain('maintenance window');
    requestId = /Request\s*(r[0-9a-f]{8})/.exec(text)![1]!;
  }, 20_000);

  it('is approved by typing production in the dialog, not prod', async () => {
    await actAs(APPROVER);
    const request = requestTo(`restore production ${backupId}`);
    await request.getByRole('button', { name: 'Approve' }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm the restore' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(backupId);
    const input = dialog.getByLabel('Type production to approve');
    expect(await input.evaluate((el) => el.matches(':focus'))).toBe(true);

    await input.pressSequentially('prod');
    await page.locator('#modal-submit').click();
    await modal().locator('.input-error').filter({ hasText: 'type production to approve' }).waitFor();
    expect(await dialog.isVisible()).toBe(true);
    expect(await request.getByRole('button', { name: 'Approve' }).isVisible()).toBe(true);

    await input.fill('');
    await input.pressSequentially('production');
    await page.locator('#modal-submit').click();
    await modal().waitFor({ state: 'hidden' });
    await request.filter({ hasText: 'approved by @Approver Jonas' }).waitFor({ timeout: 15_000 });
  }, 30_000);

  it('restores, runs the verification query and closes its maintenance window', async () => {
    const request = requestTo(`restore production ${backupId}`);
    await request.locator('.thread-summary').click();
    const thread = page.locator('#thread-body');
    const progress = thread.locator('.msg', { hasText: 'succeeded' });
    await progress.waitFor({ timeout: 20_000 });
    await progress.locator('.emo[title=":large_green_circle:"]').waitFor();
    const text = (await progress.textContent()) ?? '';
    expect(text).toContain(`restored from ${backupId}`);
    expect(text).toMatch(/SELECT COUNT\(\*\) FROM users; → \d+/);
    expect(text).toContain(`maintenance m${requestId.slice(1)} closed`);
    await page.locator('#thread-close').click();
  }, 30_000);

  it('announced the maintenance window in #announcements: scheduled, then started with alerts silenced', async () => {
    // It lands in another channel: the sidebar says so while #ops stays open.
    await page.locator('[data-channel-name="announcements"] .badge').waitFor({ timeout: 15_000 });
    await page.locator('[data-channel-name="announcements"]').click();
    await page.locator('#channel-name', { hasText: '# announcements' }).waitFor();
    const windowId = `m${requestId.slice(1)}`;
    const notice = (what: string) =>
      channelMessages().filter({ hasText: what }).filter({ hasText: windowId });
    const scheduled = notice('Maintenance scheduled');
    await scheduled.waitFor({ timeout: 15_000 });
    const text = (await scheduled.textContent()) ?? '';
    expect(text).toContain('by @Engineer Erin — production from');
    expect(text).toContain(`Database restore from ${backupId} (request ${requestId})`);
    await notice('Maintenance started').filter({ hasText: 'Alerts of production are silenced' }).waitFor();
    await page.locator('[data-channel-name="ops"]').click();
    await page.locator('#channel-name', { hasText: '# ops' }).waitFor();
  }, 20_000);

  it('left the backup and the restore Jobs in the simulated cluster, both complete', async () => {
    const { stdout } = await run('kubectl', [
      '--kubeconfig',
      path.join(dir, 'kubeconfig'),
      'get',
      'jobs',
      '-n',
      NAMESPACE,
      '-o',
      'json',
    ]);
    const jobs = (JSON.parse(stdout) as JobList).items;
    const names = jobs.map((j) => j.metadata.name);
    expect(names).toContain(backupId);
    const restore = jobs.filter((j) => j.metadata.name.startsWith('azora-restore-production-'));
    expect(restore).toHaveLength(1);
    for (const job of jobs.filter((j) => j.metadata.name === backupId || restore.includes(j)))
      expect(job.status.succeeded).toBe(1);
  }, 20_000);
});
