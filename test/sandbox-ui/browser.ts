import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';
import { startSandboxProcess } from './process';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface SandboxPage {
  page: Page;
  /** The workspace URL. */
  url: string;
  /** The sandbox's directory (its kubeconfig is there). */
  dir: string;
  /** Closes the browser, stops the sandbox and removes its files and keys; the sandbox's exit code. */
  close(): Promise<number | null | undefined>;
}

export interface SandboxPageOptions {
  /** Sandbox settings to add (AZORA_SANDBOX_BAD_AFTER_MS). */
  env?: Record<string, string>;
  /** Pixels per CSS pixel, for screenshots that stay sharp when shown larger (default 1). */
  deviceScaleFactor?: number;
}

/** The built sandbox (`npm start`'s entry point) on a Redis prefix of its own, open in headless Chromium. */
export async function openSandboxPage(label: string, options: SandboxPageOptions = {}): Promise<SandboxPage> {
  const dir = mkdtempSync(path.join(tmpdir(), `azora-sandbox-${label}-`));
  const profile = mkdtempSync(path.join(tmpdir(), 'azora-chromium-'));
  const prefix = uniquePrefix();
  const sandbox = startSandboxProcess({
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: prefix,
    AZORA_SANDBOX_DIR: dir,
    ...options.env,
  });
  let context: BrowserContext | undefined;
  const close = async () => {
    await context?.close();
    const exit = await sandbox.stop();
    rmSync(profile, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    await dropPrefix(prefix);
    return exit?.code;
  };
  try {
    const url = await sandbox.url;
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      viewport: { width: 1440, height: 900 },
      deviceScaleFactor: options.deviceScaleFactor ?? 1,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url);
    await page.locator('#live.on').waitFor();
    return { page, url, dir, close };
  } catch (err) {
    await close();
    throw err;
  }
}
