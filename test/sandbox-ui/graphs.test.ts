import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { openSandboxPage, type SandboxPage } from './browser';

// The README's picture is rewritten only on request, so a test run leaves the tree clean.
const README_SCREENSHOT = path.join(__dirname, 'screenshots', 'alert-graph.png');
const ALERT = 'AzoraHighErrorRate';

/** What the test reads of an <img> in the page (the tests are compiled without the DOM's types). */
interface ImageInPage {
  complete: boolean;
  naturalWidth: number;
  naturalHeight: number;
  addEventListener(type: 'load' | 'error', listener: () => void, options: { once: boolean }): void;
}

describe("alert graphs in the sandbox workspace, from the sandbox's own Prometheus", () => {
  let opened: SandboxPage;
  let page: Page;
  let dir: string;

  beforeAll(async () => {
    // A bad version fails 40 s after it takes traffic, its error ratio over the line for most
    // of them: the graph drawn when the alert fires shows the climb. Twice the pixels: the
    // screenshot of the thread is shown larger in the README.
    opened = await openSandboxPage('graphs', {
      env: { AZORA_SANDBOX_BAD_AFTER_MS: '40000' },
      deviceScaleFactor: 2,
    });
    ({ page, dir } = opened);
  }, 60_000);

  afterAll(async () => {
    expect(await opened?.close()).toBe(0);
  }, 30_000);

  const channelMessages = () => page.locator('#messages .msg');
  const thread = () => page.locator('#thread-body');
  const alertMenu = async (action: 'Fire' | 'Resolve') => {
    if (await page.locator('#alerts-menu').isHidden()) await page.locator('#alerts-button').click();
    await page.locator(`[data-alert="${ALERT}"]`).getByRole('button', { name: action }).click();
    await page.locator('#alerts-button').click();
  };
  /** The alert's own message in #incidents (critical alerts go there), its thread opened. */
  const openAlertThread = async (where: string): Promise<Locator> => {
    await page.locator('[data-channel-name="incidents"]').click();
    const alert = channelMessages().filter({ hasText: ALERT }).filter({ hasText: where });
    await alert.first().locator('.thread-summary').waitFor({ timeout: 60_000 });
    await alert.first().locator('.thread-summary').click();
    return alert.first();
  };
  /** The graph in the open thread, once the browser has decoded it: its natural size. */
  const graphInThread = async (): Promise<{ image: Locator; width: number; height: number }> => {
    const image = thread().locator('.file-card.image img.file-image');
    await image.waitFor({ timeout: 30_000 });
    const size = await image.evaluate(
      (img: ImageInPage) =>
        new Promise<{ width: number; height: number }>((resolve, reject) => {
          const done = () => resolve({ width: img.naturalWidth, height: img.naturalHeight });
          if (img.complete)
            return img.naturalWidth > 0 ? done() : reject(new Error('the image did not decode'));
          img.addEventListener('load', done, { once: true });
          img.addEventListener('error', () => reject(new Error('the image did not load')), { once: true });
        }),
    );
    return { image, ...size };
  };

  it('draws a bad release to staging: the error ratio climbs after the deploy marked on it (screenshot)', async () => {
    await page.selectOption('#user-switcher', 'U0ENGINEER');
    await page.locator('[data-channel-name="ops"]').click();
    await page.locator('#composer-input').fill('/azora deploy staging payment v1.6.0-bad');
    await page.locator('#composer-input').press('Enter');
    const release = channelMessages().filter({ hasText: 'asked to' }).filter({ hasText: 'v1.6.0-bad' });
    await release.locator('.thread-summary').waitFor({ timeout: 30_000 });
    await release.locator('.thread-summary').click();
    await thread().locator('.msg', { hasText: 'succeeded' }).waitFor({ timeout: 30_000 });
    await page.locator('#thread-close').click();

    // About 40 s after the new pods took traffic the cluster fires the guide's alert for payment.
    await openAlertThread('payment in staging');
    const { image } = await graphInThread();
    // The bot's own change is on it, and the picture's description says so.
    expect(await image.getAttribute('alt')).toMatch(/deploy v1\.6\.0-bad/);

    await image.scrollIntoViewIfNeeded();
    await page.mouse.move(0, 0);
    await page.locator('#toast').waitFor({ state: 'hidden' });
    // The thread pane alone, down to the graph: the alert and its graph, legible at the README's width.
    const screenshot = process.env.UPDATE_SCREENSHOT ? README_SCREENSHOT : path.join(dir, 'alert-graph.png');
    mkdirSync(path.dirname(screenshot), { recursive: true });
    const pane = (await page.locator('#thread').boundingBox())!;
    const card = (await thread().locator('.file-card.image').boundingBox())!;
    const height = Math.min(pane.height, card.y + card.height + 16 - pane.y);
    await page.screenshot({ path: screenshot, clip: { x: pane.x, y: pane.y, width: pane.width, height } });
    expect(statSync(screenshot).size).toBeGreaterThan(0);
    await page.locator('#thread-close').click();
  }, 120_000);

  it("fires AzoraHighErrorRate from the menu: its thread shows the rule's graph, a PNG the page shows inline", async () => {
    await alertMenu('Fire');
    await openAlertThread('api-gateway in production');
    const { image, width, height } = await graphInThread();
    expect(width).toBeGreaterThan(0);
    expect(height).toBeGreaterThan(0);
    // Laid out at its size (Slack's original_w and original_h, from the PNG) before it loads.
    expect([await image.getAttribute('width'), await image.getAttribute('height')]).toEqual([
      String(width),
      String(height),
    ]);
    // Its description is the image's text for those who cannot see it.
    expect(await image.getAttribute('alt')).toMatch(/AzoraHighErrorRate/);
    // Served as a PNG, never sniffed as anything else.
    const src = await image.getAttribute('src');
    const res = await fetch(new URL(src!, opened.url));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
    // The file card says what it is, as Slack's does.
    expect(await thread().locator('.file-card.image .file-name').textContent()).toMatch(
      /^AzoraHighErrorRate-.*\.png$/,
    );
    await alertMenu('Resolve');
    await page.locator('#thread-close').click();
  }, 60_000);
});
