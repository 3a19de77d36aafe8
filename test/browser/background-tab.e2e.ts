// A widget in a background tab, as an agent's Dynamics 365 tab often is: the browser hides the page
// and runs its timers at most once a second. Playwright keeps every page visible and its timers on
// time, so this test drives Chromium with puppeteer, without the flags that turn the throttling off,
// Firefox with puppeteer as the other Firefox tests do, and WebKit as the other WebKit tests do,
// hiding its page by minimising its window.
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser as PuppeteerBrowser } from 'puppeteer-core';
import type { TestFrame } from './browsers.js';
import { ARGS, findChromium } from './chromium.js';
import { findFirefox } from './firefox.js';
import { servePage, type ServedPage } from './serve.js';
import { launchWebKit } from './webkit.js';
import type { BackgroundWidget } from './fixtures/background-page.js';

/** A widget page of the test: its uncaught errors, and how it goes to the background. */
interface WidgetPage {
  page: Pick<TestFrame, 'evaluate' | 'waitForFunction'>;
  errors: string[];
  /** Hides the page, as another tab coming to the front or a minimised window does. */
  hide(): Promise<void>;
}

/** A browser of the test, which opens the widget page at `url`. */
interface Browser {
  open(url: string): Promise<WidgetPage>;
  close(): Promise<void>;
}

/** Puppeteer's browser, whose widget page goes to the background as another tab comes to the front. */
const withPuppeteer = (browser: PuppeteerBrowser): Browser => ({
  async open(url) {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(url);
    return {
      page: { evaluate: (task: string) => page.evaluate(task), waitForFunction: (task: () => unknown) => page.waitForFunction(task) } as WidgetPage['page'],
      errors,
      async hide() {
        const other = await browser.newPage();
        await other.goto(`${url}?other`);
        await other.bringToFront();
      },
    };
  },
  close: () => browser.close(),
});

const LAUNCHES: ReadonlyArray<readonly [name: string, launch: () => Promise<Browser>]> = [
  [
    'Chromium',
    async () =>
      withPuppeteer(
        await puppeteer.launch({
          executablePath: findChromium(),
          headless: true,
          args: ARGS,
          // Puppeteer, as Playwright, turns the throttling off by default.
          ignoreDefaultArgs: ['--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'],
        }),
      ),
  ],
  ['Firefox', async () => withPuppeteer(await puppeteer.launch({ browser: 'firefox', executablePath: findFirefox(), headless: true }))],
  [
    'WebKit',
    async () => {
      const browser = await launchWebKit();
      return {
        async open(url) {
          const { page, errors } = await browser.newPage();
          await page.goto(url);
          return { page, errors, hide: () => page.minimize() };
        },
        close: () => browser.close(),
      };
    },
  ],
];

for (const [name, launch] of LAUNCHES) {
  describe(`a widget in a background tab of ${name}, its timers throttled`, function () {
    this.timeout(60_000);
    let served: ServedPage;
    let browser: Browser;
    before(async () => {
      served = await servePage(
        { 'index.html': '<!doctype html><meta charset="utf-8"><script src="background-page.js"></script>' },
        { entryPoints: [fileURLToPath(new URL('./fixtures/background-page.ts', import.meta.url))], bundle: true, format: 'iife', platform: 'browser', target: 'es2020' },
      );
      browser = await launch();
    });
    after(async () => {
      await browser?.close();
      await served?.stop();
    });

    const run = <T>(page: WidgetPage['page'], body: (widget: BackgroundWidget) => T) => page.evaluate(`(${body.toString()})(window.widget)`) as Promise<Awaited<T>>;

    it('retries no earlier than the backoff, times out no earlier than timeoutMillis, and settles every KPI event, with no timer given up', async () => {
      const { page: widgetPage, errors, hide } = await browser.open(`${served.url}index.html`);
      await widgetPage.waitForFunction(() => 'widget' in window);
      // In the foreground first: the outbox takes its lock, and a call goes as usual.
      await run(widgetPage, (w) => w.send(['Visible']));

      // Another tab comes to the front: the widget's page is hidden, and its timers throttled.
      await hide();
      await widgetPage.waitForFunction(() => document.visibilityState === 'hidden');
      // The premise: a 10 ms timer set by the last waits about a second (after the first, which may have been aligned
      // already); in WebKit, once the chain of timers is some ten deep.
      const gaps = (await widgetPage.evaluate(`window.widget.timerGaps(${name === 'WebKit' ? 15 : 3}, 10)`)) as number[];
      expect(Math.min(...gaps.slice(-2)), `timer gaps ${gaps.join(', ')} ms`).to.be.at.least(900);

      const start = await run(widgetPage, () => performance.now());
      await run(widgetPage, (w) => w.send(['Plain', 'Retried', 'Hung']));
      // With the outbox, the export ended as each call was at the host or stored: the calls settle later, in the hidden page.
      for (let tries = 0; (await run(widgetPage, (w) => w.stats().kpiEventsPending)) > 0; tries++) {
        if (tries > 300) throw new Error('the calls did not settle in 30 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const { calls, stats, lines, visibility } = await run(widgetPage, (w) => ({ calls: w.calls, stats: w.stats(), lines: w.lines, visibility: w.visibility }));
      const at = (name: string, nth = 0) => calls.filter(([call]) => call === name)[nth]![1];
      /** The first diag line that says `text`, and when it was told. */
      const told = (text: string) => lines.find(([, line]) => line.includes(text)) ?? [NaN, ''];

      expect(calls.filter(([, time]) => time >= start).map(([name]) => name)).to.deep.equal(['Plain', 'Retried', 'Hung', 'Retried']);
      // The retry waits the backoff the engine said (250 ms, give or take a fifth): the timer comes late, never early.
      const backoff = Number(/retry 1 in (\d+) ms/.exec(told("call 'Retried' failed (Provider not active)")[1])?.[1]);
      expect(backoff).to.be.within(200, 300);
      expect(at('Retried', 1) - at('Retried')).to.be.at.least(backoff);
      // The hung call is given up once timeoutMillis has passed, by performance.now().
      expect(told("call 'Hung' given up as timed_out")[0] - at('Hung')).to.be.at.least(2000);
      expect(stats).to.deep.include({ kpiEventsSent: 4, kpiEventsDelivered: 3, kpiEventsPending: 0, kpiEventsKept: 0, callsMade: 5, callsRetried: 1, callsTimedOut: 1, callsFailed: 1 });
      expect(stats.dropped).to.deep.include({ timed_out: 1, no_timer: 0, host_error: 0, cif_not_loaded: 0, queue_full: 0 });
      expect(visibility).to.deep.equal(['visible', 'hidden']);
      expect(errors).to.deep.equal([]);
    });
  });
}
