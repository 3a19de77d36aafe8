import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { Builder, By, type WebDriver } from 'selenium-webdriver';
import type { TestBrowser, TestFrame, TestPage } from './browsers.js';
import { findBrowser } from './find-browser.js';

/** Where WebKitWebDriver is: WEBKIT_WEBDRIVER_PATH, or Debian's `webkit2gtk-driver`. */
export function findWebKitDriver(): string {
  return findBrowser('WebKit', 'WEBKIT_WEBDRIVER_PATH', ['/usr/bin/WebKitWebDriver'], '`apt-get install webkit2gtk-driver xvfb` (Debian, gives /usr/bin/WebKitWebDriver)');
}

/** Where WebKitGTK's MiniBrowser is, which WebKitWebDriver runs: WEBKIT_BROWSER_PATH, or Debian's in its multiarch library directory. */
function findMiniBrowser(): string {
  let found: string[] = [];
  try {
    found = readdirSync('/usr/lib').map((dir) => `/usr/lib/${dir}/webkit2gtk-4.1/MiniBrowser`);
  } catch {
    // None there: the error below says where to get it.
  }
  return findBrowser('WebKit', 'WEBKIT_BROWSER_PATH', found, '`apt-get install webkit2gtk-driver xvfb` (Debian, brings MiniBrowser)');
}

/** A TCP port free on 127.0.0.1 as this asks. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** An X display for WebKitGTK, which draws even in automation: `DISPLAY` when set, else an Xvfb of its own, stopped by `stop`. */
async function display(): Promise<{ name: string; stop(): void }> {
  if (process.env.DISPLAY) return { name: process.env.DISPLAY, stop: () => {} };
  if (!existsSync('/usr/bin/Xvfb')) throw new Error('No X display for WebKit: set DISPLAY, or install Xvfb with `apt-get install xvfb`.');
  // Xvfb picks a free display and writes its number to fd 3 once it takes connections.
  const xvfb = spawn('/usr/bin/Xvfb', ['-displayfd', '3', '-nolisten', 'tcp', '-screen', '0', '1280x900x24'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const number = await new Promise<string>((resolve, reject) => {
    let said = '';
    xvfb.stdio[3]!.on('data', (chunk: Buffer) => {
      said += String(chunk);
      if (said.includes('\n')) resolve(said.trim());
    });
    xvfb.once('exit', (code) => reject(new Error(`Xvfb exited (${code}) before it gave a display`)));
  });
  return { name: `:${number}`, stop: () => xvfb.kill() };
}

/** Resolves once `child` exits, or at once if it has. */
const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));

/**
 * The script run in a page or frame for `call`, an expression: its value, awaited there as Playwright does, as JSON
 * holds it (arrays and plain objects copied, any other object, such as `window`, as `undefined`), with `undefined`
 * told apart from `null` (WebDriver sends both as null), and what the page's console collector holds since the last
 * look (`CONSOLE_COLLECTOR`). The last argument is WebDriver's callback.
 */
const inPage = (call: string): string => `const done = arguments[arguments.length - 1];
  ${ANSWER}
  Promise.resolve().then(() => (${call})).then(answer, thrown).then(done);`;

/**
 * The script for `call`, an expression run synchronously: as `inPage`, answered within the task that runs it, so that
 * a page that navigates meanwhile cannot leave WebDriver waiting for an answer (`waitForFunction` polls so).
 */
const inPageNow = (call: string): string => `${ANSWER}
  try { return answer(${call}); } catch (error) { return thrown(error); }`;

/** What `inPage` and `inPageNow` answer with: `answer(value)`, or `thrown(error)`. */
const ANSWER = `const seen = () => ({ href: location.href, errors: (window.__testErrors || []).splice(0), warnings: (window.__testWarnings || []).splice(0) });
  const plain = (value) => [Object.prototype, null].includes(Object.getPrototypeOf(value));
  const tree = (value) => Array.isArray(value) ? value.map(tree)
    : value !== null && typeof value === 'object' ? (plain(value) ? Object.fromEntries(Object.entries(value).map(([key, item]) => [key, tree(item)])) : undefined)
    : typeof value === 'function' ? undefined : value;
  const answer = (value) => (value = tree(value), { value, undefined: value === undefined, ...seen() });
  const thrown = (error) => ({ thrown: String(error) + (error && error.stack ? ' ' + error.stack : ''), ...seen() });`;

interface Answer {
  value?: unknown;
  undefined?: boolean;
  thrown?: string;
  href: string;
  errors: string[];
  warnings: string[];
}

/**
 * Collects a page's uncaught errors and console errors in `window.__testErrors`, its console warnings in
 * `window.__testWarnings`, which the WebKit tests read after each step: WebDriver, unlike Playwright and puppeteer,
 * tells of none of them. `servePage` puts it first in every page; elsewhere it only adds to arrays no one reads.
 */
export const CONSOLE_COLLECTOR = `<script>(() => {
  const errors = (window.__testErrors = []);
  const warnings = (window.__testWarnings = []);
  const text = (value) => { try { return value instanceof Error ? value.message : String(value); } catch { return typeof value; } };
  addEventListener('error', (event) => errors.push('pageerror: ' + text(event.error ?? event.message)));
  addEventListener('unhandledrejection', (event) => errors.push('pageerror: ' + text(event.reason)));
  for (const [level, seen, as] of [['error', errors, 'console.error: '], ['warn', warnings, '']]) {
    const original = console[level];
    console[level] = function (...args) { seen.push(as + args.map(text).join(' ')); return original.apply(this, args); };
  }
})();</script>`;

/** A page of the tests in WebKit, whose window can be minimised: the page is then hidden, as behind another tab. */
export interface WebKitPage extends TestPage {
  minimize(): Promise<void>;
}

export interface WebKitBrowser extends TestBrowser {
  newPage(): Promise<{ page: WebKitPage; errors: string[]; warnings: string[] }>;
}

/**
 * WebKit, Safari's engine, as WebKitGTK's MiniBrowser driven by WebKitWebDriver (W3C WebDriver, from the OS package
 * `webkit2gtk-driver`, through `selenium-webdriver`) on an X display (Xvfb's where none is set), in a session whose
 * storage ends with it, as Chromium's and Firefox's fresh profiles do.
 * - Each page is a window of its own, visible as Playwright's and puppeteer's pages are: a tab behind another is
 *   hidden, and WebKit then holds its timers back (twenty chained 0 ms timers took 8 s).
 * - WebDriver runs one command at a time, on the window and frame it is switched to: every step of every page of
 *   this browser goes in turn.
 * - WebDriver tells of no console message: a page's console is read at each step (`CONSOLE_COLLECTOR`), so what a
 *   page says as it unloads is not seen.
 */
export async function launchWebKit(): Promise<WebKitBrowser> {
  const driverPath = findWebKitDriver();
  const browserPath = findMiniBrowser();
  const screen = await display();
  const port = await freePort();
  const driverProcess = spawn(driverPath, [`--port=${port}`], { stdio: 'ignore', env: { ...process.env, DISPLAY: screen.name } });
  // Should the tests end without closing the browser, its processes end with them.
  const kill = (): void => {
    driverProcess.kill();
    screen.stop();
  };
  process.once('exit', kill);
  const stop = async (): Promise<void> => {
    process.off('exit', kill);
    driverProcess.kill();
    await exited(driverProcess);
    screen.stop();
  };
  let driver: WebDriver;
  try {
    driver = await connect(`http://127.0.0.1:${port}`, browserPath);
  } catch (error) {
    await stop();
    throw error;
  }
  // The window the session starts with stays open, blank: closing a test's last page would otherwise end the session.
  const home = await driver.getWindowHandle();
  let queue: Promise<unknown> = Promise.resolve();
  /** Runs `step` once every step asked for before it is done. */
  const inTurn = <T>(step: () => Promise<T>): Promise<T> => {
    const result = queue.then(step);
    queue = result.catch(() => undefined);
    return result;
  };

  return {
    async newPage() {
      const errors: string[] = [];
      const warnings: string[] = [];
      const handle = await inTurn(async () => {
        // From a window that is open: WebDriver opens none from a closed one.
        await driver.switchTo().window(home);
        await driver.switchTo().newWindow('window');
        return driver.getWindowHandle();
      });
      let href = 'about:blank';
      let closed = false;
      /** The page's frames as last seen, the page's own first: their URLs, which a frame's `url()` gives at once. */
      let frames: TestFrame[] = [];

      /** Runs `step` in the page, or in its frame at `frame` (an index among its frames), in turn. */
      const on = <T>(frame: number | undefined, step: () => Promise<T>): Promise<T> =>
        inTurn(async () => {
          await driver.switchTo().window(handle);
          if (frame !== undefined) await driver.switchTo().frame(frame);
          try {
            return await step();
          } finally {
            if (frame !== undefined) await driver.switchTo().defaultContent();
          }
        });

      /** `call` evaluated in the page or its frame at `frame`, awaited there unless `now`. */
      const run = async (frame: number | undefined, call: string, now = false): Promise<unknown> => {
        const answer = (await on(frame, () => (now ? driver.executeScript(inPageNow(call)) : driver.executeAsyncScript(inPage(call))))) as Answer;
        errors.push(...answer.errors);
        warnings.push(...answer.warnings);
        if (frame === undefined) href = answer.href;
        if (answer.thrown !== undefined) throw new Error(answer.thrown);
        return answer.undefined ? undefined : answer.value;
      };

      const frameOf = (frame: number | undefined, url: string): TestFrame =>
        ({
          url: () => (frame === undefined ? href : url),
          evaluate: (task: string | ((arg: unknown) => unknown), arg?: unknown) =>
            run(frame, typeof task === 'string' ? task : `(${String(task)})(${arg === undefined ? '' : JSON.stringify(arg)})`),
          async waitForFunction(task: (arg: unknown) => unknown, arg?: unknown) {
            const call = `(${String(task)})(${arg === undefined ? '' : JSON.stringify(arg)})`;
            const until = Date.now() + 30_000;
            for (;;) {
              // A page between two documents (the test made it navigate) fails the command: it is asked again.
              const value = await run(frame, call, true).catch((error: unknown) => (Date.now() > until ? Promise.reject(error) : undefined));
              if (value) return value;
              if (Date.now() > until) throw new Error(`waitForFunction timed out after 30 s: ${call}`);
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
          },
        }) as TestFrame;

      /** After a load: the page's URL and its frames (a frame of another origin by its `src`), and its errors so far. */
      const loaded = async (): Promise<void> => {
        const urls = (await run(
          undefined,
          `Array.from(document.querySelectorAll('iframe'), (frame) => { try { return frame.contentWindow.location.href; } catch { return frame.src; } })`,
        )) as string[];
        frames = [page, ...urls.map((url, at) => frameOf(at, url))];
      };

      const page: WebKitPage = {
        ...frameOf(undefined, ''),
        async goto(url) {
          await on(undefined, () => driver.get(url));
          await loaded();
        },
        async reload() {
          // What the page said before it goes is looked at first.
          await run(undefined, 'undefined');
          await on(undefined, () => driver.navigate().refresh());
          await loaded();
        },
        // Once, as Playwright's and puppeteer's: a page closed again stays closed.
        async close() {
          if (closed) return;
          closed = true;
          await run(undefined, 'undefined').catch(() => undefined);
          await on(undefined, () => driver.close());
        },
        async click(selector) {
          await on(undefined, async () => (await driver.findElement(By.css(selector))).click());
          await run(undefined, 'undefined');
        },
        frames: () => frames,
        minimize: () => on(undefined, () => driver.manage().window().minimize()),
      };
      frames = [page];
      return { page, errors, warnings };
    },
    async close() {
      // After the steps asked for before, unless one never ends (a test that timed out): the processes end either way.
      const quit = inTurn(async () => {
        await driver.switchTo().window(home);
        await driver.quit();
      }).catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([quit, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
      clearTimeout(timer);
      await stop();
    },
  };
}

/** A WebDriver session of the MiniBrowser at `browser` with the driver at `url`, once it takes one: it listens a moment after it starts. */
async function connect(url: string, browser: string): Promise<WebDriver> {
  const capabilities = { browserName: 'MiniBrowser', timeouts: { script: 60_000 }, 'webkitgtk:browserOptions': { binary: browser, args: ['--automation'] } };
  const until = Date.now() + 10_000;
  for (;;) {
    try {
      return await new Builder().usingServer(url).withCapabilities(capabilities).build();
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
