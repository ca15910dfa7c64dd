import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Locator, Page } from 'playwright-core';
import { waitFor } from '../kit/wait';
import { openSandboxPage, type SandboxPage } from './browser';

const NAMESPACE = 'azora-production';
const run = promisify(execFile);

describe('watching a bad release in the sandbox workspace', () => {
  let opened: SandboxPage;
  let page: Page;
  let dir: string;

  beforeAll(async () => {
    opened = await openSandboxPage('release');
    ({ page, dir } = opened);
  }, 60_000);

  afterAll(async () => {
    expect(await opened?.close()).toBe(0);
  }, 30_000);

  const composer = () => page.locator('#composer-input');
  const actAs = (user: string) => page.selectOption('#user-switcher', user);
  const channelMessages = () => page.locator('#messages .msg');
  const requestTo = (fragment: string): Locator =>
    channelMessages().filter({ hasText: 'asked to' }).filter({ hasText: fragment });
  const selector = async (): Promise<Record<string, string>> => {
    const { stdout } = await run('kubectl', [
      '--kubeconfig',
      path.join(dir, 'kubeconfig'),
      'get',
      'svc',
      'azora-payment',
      '-n',
      NAMESPACE,
      '-o',
      'jsonpath={.spec.selector}',
    ]);
    return JSON.parse(stdout) as Record<string, string>;
  };

  /** Picks a suggestion the way a person does: type its start, click it, send it. */
  const suggest = async (start: string, command: string) => {
    await composer().fill(start);
    const suggestion = page.locator(`#suggestions .suggestion[data-example="${command}"]`);
    await suggestion.waitFor();
    await suggestion.click();
    expect(await composer().inputValue()).toBe(command);
    await composer().press('Enter');
  };

  /** The alert's own message in #incidents (critical alerts go there), as far as it got. */
  const incident = async (environment: string, state: 'FIRING' | 'RESOLVED') => {
    await page.locator('[data-channel-name="incidents"]').click();
    const message = channelMessages()
      .filter({ hasText: 'AzoraHighErrorRate' })
      .filter({ hasText: `payment in ${environment}` })
      .filter({ hasText: state });
    await message.first().waitFor({ timeout: 30_000 });
    const text = await message.first().textContent();
    await page.locator('[data-channel-name="ops"]').click();
    return text ?? '';
  };

  it('releases a bad version to staging from the suggestions: its checks pass, then it fails under traffic', async () => {
    await actAs('U0ENGINEER');
    await suggest('/azora deploy staging', '/azora deploy staging payment v1.6.0-bad');
    const release = requestTo('deploy staging payment v1.6.0-bad');
    await release.locator('.thread-summary').click();
    await page.locator('#thread-body .msg', { hasText: 'succeeded' }).waitFor({ timeout: 30_000 });
    await page.locator('#thread-close').click();
    // About 10 s after its pods took traffic, the cluster fires the guide's alert for payment.
    expect(await incident('staging', 'FIRING')).toContain('payment answers 5xx');
  }, 60_000);

  it('releases it to production: checked on green, switched, alert in the thread, switched back', async () => {
    await suggest('/azora deploy production', '/azora deploy production payment v1.6.0-bad');
    const plan = requestTo('deploy production payment v1.6.0-bad');
    await plan.getByRole('button', { name: 'Approve' }).waitFor({ timeout: 15_000 });
    await actAs('U0APPROVER1');
    await plan.getByRole('button', { name: 'Approve' }).click();
    await plan.locator('.thread-summary').click();
    const thread = page.locator('#thread-body');
    // Checked on green's own pods before the switch: the bad version passes them.
    await thread.locator('.msg', { hasText: 'succeeded' }).waitFor({ timeout: 30_000 });
    // It takes the traffic, fails, and the cluster's alert lands in the release's thread.
    const landed = thread.locator('.msg', { hasText: 'AzoraHighErrorRate' });
    await landed.first().waitFor({ timeout: 30_000 });
    expect(await landed.first().textContent()).toContain('v1.6.0-bad');
    // The policy (releases.autoSwitchBack) switches back on its own; the bad pods then take
    // no traffic and the alert resolves.
    await waitFor(selector, (s) => s.version === 'blue', {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'the switch back',
    });
    expect(await incident('production', 'RESOLVED')).toContain('AzoraHighErrorRate');
  }, 90_000);
});
