import puppeteer, { type Frame } from 'puppeteer-core';
import type { TestBrowser, TestFrame, TestPage } from './browsers.js';
import { findBrowser } from './find-browser.js';

/** Where Firefox is: FIREFOX_PATH, or Debian's `firefox-esr`. */
export function findFirefox(): string {
  return findBrowser('Firefox', 'FIREFOX_PATH', ['/usr/bin/firefox-esr', '/usr/bin/firefox'], '`apt-get install firefox-esr` (Debian, gives /usr/bin/firefox-esr)');
}

/**
 * Runs `call`, an expression, in the frame and gives its value, awaited there as Playwright does (WebDriver BiDi
 * awaits a native promise only, and a page with Zone.js answers with its own), and with every array and plain object
 * in it copied where it appears: BiDi sends an object met again by reference, which puppeteer gives as undefined.
 */
const inFrame = (frame: Frame, call: string): Promise<unknown> =>
  frame.evaluate(`(async () => {
    const tree = (value) => Array.isArray(value) ? value.map(tree)
      : value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype
        ? Object.fromEntries(Object.entries(value).map(([key, item]) => [key, tree(item)])) : value;
    return tree(await (${call}));
  })()`);

/** A frame of puppeteer's as the tests use one, in the ways Playwright's take. */
function testFrame(frame: Frame): TestFrame {
  return {
    url: () => frame.url(),
    // The argument goes as JSON, which is all the tests pass.
    evaluate: (task: string | ((arg: unknown) => unknown), arg?: unknown) =>
      inFrame(frame, typeof task === 'string' ? task : `(${String(task)})(${arg === undefined ? '' : JSON.stringify(arg)})`),
    // Puppeteer takes the options before the argument, Playwright after it.
    waitForFunction: (task, arg) => frame.waitForFunction(task as never, {}, arg),
  } as TestFrame;
}

/** Headless Firefox over WebDriver BiDi (puppeteer), with a fresh profile that puppeteer removes on close. */
export async function launchFirefox(): Promise<TestBrowser> {
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: findFirefox(), headless: true });
  return {
    async newPage() {
      const page = await browser.newPage();
      const errors: string[] = [];
      const warnings: string[] = [];
      page.on('pageerror', (error) => errors.push(`pageerror: ${(error as Error).message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
        if (message.type() === 'warn') warnings.push(message.text());
      });
      const testPage: TestPage = {
        ...testFrame(page.mainFrame()),
        goto: (url) => page.goto(url),
        reload: () => page.reload(),
        close: () => page.close(),
        click: (selector) => page.click(selector),
        frames: () => page.frames().map(testFrame),
      };
      return { page: testPage, errors, warnings };
    },
    close: () => browser.close(),
  };
}
