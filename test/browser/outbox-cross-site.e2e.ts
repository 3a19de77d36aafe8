// The widget in a frame of another site than the page at the top, as a CIF widget is in Dynamics
// 365 (its own domain, in a page on dynamics.com): the browser gives the frame storage and locks of
// the top page's partition, or none where it blocks third-party cookies. The widget page of
// fixtures/bfcache-page.ts (a BatchSpanProcessor and a CifSpanExporter at their defaults), framed
// by a page on `localhost` while it is served from 127.0.0.1: two sites.
import { expect } from 'chai';
import { launchChromium } from './chromium.js';
import { launchFirefox } from './firefox.js';
import { launchWebKit } from './webkit.js';
import type { TestBrowser, TestFrame, TestPage } from './browsers.js';
import { servePage, useFixturePages, type ServedPage } from './serve.js';
import type { Widget } from './fixtures/bfcache-page.js';

/** Each browser as it gives a frame of another site its storage: its partition of the top page's, or none. */
const SETUPS: Array<[title: string, launch: () => Promise<TestBrowser>, storage: boolean]> = [
  ['Firefox, Total Cookie Protection', launchFirefox, true],
  // Playwright turns partitioning off; Chromium's own default blocks third-party cookies.
  ['Chromium, third-party cookies allowed, storage partitioned', () => launchChromium(['--enable-features=ThirdPartyStoragePartitioning', '--disable-features=TrackingProtection3pcd']), true],
  ['Chromium, third-party cookies blocked', () => launchChromium(['--enable-features=TrackingProtection3pcd']), false],
  ['WebKit, storage partitioned', launchWebKit, true],
];

for (const [title, launch, storage] of SETUPS) describe(`the widget in a frame of another site, in ${title}`, function () {
  this.timeout(60_000);
  const served = useFixturePages({ 'widget.html': '<!doctype html><meta charset="utf-8"><script src="bfcache-page.js"></script>' }, ['bfcache-page'], undefined, launch);
  let top: ServedPage;
  before(async () => {
    top = await servePage({ 'index.html': '<!doctype html><script>document.write(`<iframe src="${decodeURIComponent(location.search.slice(1))}"></iframe>`)</script>' });
  });
  after(() => top?.stop());

  /** The top page, on `localhost`, framing the widget loaded with `query`; and that frame, once its widget runs. */
  async function framed(page: TestPage, query: string): Promise<TestFrame> {
    const src = `${served.url}widget.html?${query}`;
    await page.goto(`${top.url.replace('127.0.0.1', 'localhost')}?${encodeURIComponent(src)}`);
    let frame: TestFrame | undefined;
    for (let i = 0; i < 200 && !frame; i++) {
      frame = page.frames().find((f) => f.url() === src);
      if (!frame) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (!frame) throw new Error(`no frame of ${src} in the top page`);
    await frame.waitForFunction(() => 'widget' in window);
    return frame;
  }
  const run = <T>(frame: TestFrame, body: (widget: Widget) => T) => frame.evaluate(`(${body.toString()})(window.widget)`) as Promise<Awaited<T>>;
  /** The outbox's entries the frame sees and whether it can take a Web Lock, or why not. */
  const storageOf = (frame: TestFrame) =>
    frame.evaluate(async () => ({
      entries: await Promise.resolve()
        .then(() => Object.keys(localStorage).filter((key) => key.startsWith('otel-cif/')).length)
        .catch((error: Error) => error.name),
      lock: await navigator.locks.request('otel-cif-test/probe', () => 'granted').catch((error: Error) => error.name),
    }));

  if (storage) {
    it('keeps the KPI events of a frame reloaded before CIF came, in its partition, and the next frame sends them once', async () => {
      const { page, errors } = await served.browser.newPage();
      const first = await framed(page, 'cif=none');
      await run(first, (w) => void (w.record(['CallAccepted', 'CallHold']), w.flush()));
      await first.waitForFunction(() => (window as unknown as { widget: Widget }).widget.entries() === 2);
      const keys = await first.evaluate(() => Object.keys(localStorage).filter((key) => key.startsWith('otel-cif/')));
      // The widget's own site, at the top: its storage is not the frame's.
      const own = await served.browser.newPage();
      await own.page.goto(served.url);
      const atTop = await own.page.evaluate(() => Object.keys(localStorage).filter((key) => key.startsWith('otel-cif/')).length);
      await own.page.close();
      const next = await framed(page, 'cif=ready');
      await next.waitForFunction(() => (window as unknown as { widget: Widget }).widget.calls().length >= 2);
      await next.waitForFunction(() => (window as unknown as { widget: Widget }).widget.entries() === 0);
      expect({
        // Named after the top page's origin, then the widget's path.
        names: keys.map((key) => key.replace(/[0-9a-f-]{36}\/\d+$/, '<page>/<seq>')),
        atTop,
        calls: await run(next, (w) => w.calls()),
        replayed: (await run(next, (w) => w.stats())).outbox.replayed,
        warnings: [...(await run(next, (w) => w.warnings))],
        errors,
      }).to.deep.equal({
        names: Array(2).fill(`otel-cif/${top.url.replace('127.0.0.1', 'localhost').slice(0, -1)}/widget.html/<page>/<seq>`),
        atTop: 0,
        calls: ['CallAccepted', 'CallHold'],
        replayed: 2,
        warnings: [],
        errors: [],
      });
    });
  } else {
    it('has no outbox where the frame gets no storage, and sends the KPI events from memory as ever, with no warning', async () => {
      const { page, errors } = await served.browser.newPage();
      const frame = await framed(page, 'cif=none');
      await run(frame, (w) => void (w.record(['CallAccepted', 'CallHold']), w.flush()));
      await frame.waitForFunction(() => (window as unknown as { widget: Widget }).widget.stats().kpiEventsPending === 2);
      const waiting = await run(frame, (w) => ({ outbox: w.stats().outbox, kept: w.stats().kpiEventsKept }));
      await run(frame, (w) => w.loadCif());
      await frame.waitForFunction(() => (window as unknown as { widget: Widget }).widget.stats().kpiEventsPending === 0);
      const whyNone = (await run(frame, (w) => w.debug)).filter((line) => line.includes('no outbox'));
      expect({ storage: await storageOf(frame), whyNone, waiting, calls: await run(frame, (w) => w.calls()), warnings: await run(frame, (w) => w.warnings), errors }).to.deep.equal({
        storage: { entries: 'SecurityError', lock: 'SecurityError' },
        whyNone: ['opentelemetry-exporter-cif no outbox: no localStorage'],
        waiting: { outbox: { stored: 0, notStored: { full: 0, store_error: 0 }, replayed: 0, expired: 0, unreadable: 0, storeErrors: 0 }, kept: 0 },
        calls: ['CallAccepted', 'CallHold'],
        warnings: [],
        errors: [],
      });
    });
  }
});
