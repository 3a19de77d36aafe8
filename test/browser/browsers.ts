// The browsers the tests run a widget in, and what a test uses of a page in each.
import { launchChromium } from './chromium.js';
import { launchFirefox } from './firefox.js';
import { launchWebKit } from './webkit.js';

/** A frame of a page, or the page itself, as the tests use it in each browser. */
export interface TestFrame {
  url(): string;
  evaluate<R>(task: string | (() => R | Promise<R>)): Promise<R>;
  evaluate<R, A>(task: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  /** Resolves once `task`, synchronous, returns a truthy value in the frame, polled; rejects after 30 s (Playwright takes a promise for a truthy value). */
  waitForFunction<A>(task: (arg: A) => unknown, arg?: A): Promise<unknown>;
}

/** A page of a test, as the tests use it in each browser (Playwright's pages in Chromium, puppeteer's in Firefox, WebDriver's windows in WebKit). */
export interface TestPage extends TestFrame {
  goto(url: string): Promise<unknown>;
  reload(): Promise<unknown>;
  close(): Promise<unknown>;
  click(selector: string): Promise<unknown>;
  /** The page's frames, the page's own first; in WebKit, those its last load left. */
  frames(): TestFrame[];
}

/** A browser of the tests: new pages whose uncaught exceptions and console errors are collected in `errors`, their console warnings in `warnings`. */
export interface TestBrowser {
  newPage(): Promise<{ page: TestPage; errors: string[]; warnings: string[] }>;
  close(): Promise<void>;
}

/**
 * The browsers of the suites that run in each: Dynamics 365 supports the three engines. Chromium
 * from the OS package `chromium`, Firefox from `firefox-esr`, WebKit (Safari's) from `webkit2gtk-driver`.
 */
export const BROWSERS: ReadonlyArray<readonly [name: string, launch: () => Promise<TestBrowser>]> = [
  ['Chromium', () => launchChromium()],
  ['Firefox', launchFirefox],
  ['WebKit', launchWebKit],
];
