import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { findBrowser } from './find-browser.js';

/** Flags that let Chromium start as root in a sandboxed CI with no network but loopback. */
export const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where Chromium is: CHROME_PATH, or Debian's `chromium`. */
export function findChromium(): string {
  return findBrowser('Chromium', 'CHROME_PATH', ['/usr/bin/chromium', '/usr/bin/chromium-browser'], '`apt-get install chromium` (Debian/Ubuntu, gives /usr/bin/chromium)');
}

export interface Browser {
  context: BrowserContext;
  /** A new page whose console errors and uncaught exceptions are collected in `errors`, its console warnings in `warnings`. */
  newPage(): Promise<{ page: Page; errors: string[]; warnings: string[] }>;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile directory, removed again on close; `args` are added to its flags. */
export async function launchChromium(args: readonly string[] = []): Promise<Browser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'cif-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: findChromium(),
    headless: true,
    args: [...ARGS, ...args],
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      const errors: string[] = [];
      const warnings: string[] = [];
      page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
        if (message.type() === 'warning') warnings.push(message.text());
      });
      return { page, errors, warnings };
    },
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
