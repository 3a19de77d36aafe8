// The page lifecycle as Chrome, Firefox and WebKit run it, for a widget wired as docs/page-lifecycle.md
// says: a WebTracerProvider with a BatchSpanProcessor at its defaults (it flushes as the page
// hides), a CifSpanExporter at its defaults (the outbox on), and the stand-in CIF host of
// fixtures/bfcache-page.ts. Playwright launches Chromium without its back/forward cache; these
// tests launch it with the cache, as Chrome runs for an agent. Firefox and WebKit run with theirs.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { TestPage } from './browsers.js';
import { ARGS, findChromium } from './chromium.js';
import { launchFirefox } from './firefox.js';
import { launchWebKit } from './webkit.js';
import { useFixturePages } from './serve.js';
import type { Widget } from './fixtures/bfcache-page.js';

const widget = '<!doctype html><meta charset="utf-8"><script src="bfcache-page.js"></script>';
/** The widgets of the first test's tries, each under its own path: its own outbox. */
const CACHED = ['cached', 'cached-again', 'cached-last'];
/** Each test's widget, under its own path: its own outbox. */
const WIDGETS = [...CACHED, 'evicted', 'often', 'early'];

/** Another page of the origin, which the widget page is left for. */
const ELSEWHERE = '<!doctype html><p>another page of the origin</p>';

/** `body` run in the widget page of `page` (Firefox's; Chromium's has its own, on Playwright's page). */
const run = <T>(page: TestPage, body: (widget: Widget) => T) => page.evaluate(`(${body.toString()})(window.widget)`) as Promise<Awaited<T>>;

/** A window of a widget page, and the window that opened it (`w`, the widget's, in the WebKit tests). */
type WidgetWindow = Window & { widget?: Widget; left?: number; w?: WidgetWindow };

/**
 * Leaves the widget page for `elsewhere`, another page of the origin, runs `meanwhile`, and goes back, all from the page
 * (the driver would wait for a load); or, with `popup`, from the page that opened the widget page in `window.w`, so
 * that the driver never waits on a page in transit, which WebKit's may never finish doing for a page it restores.
 * Says whether the widget page came back restored from the back/forward cache (hidden on its way in, which is when
 * the processor flushes) or loaded again: a restored page fires no load.
 */
async function trip(page: TestPage, elsewhere: string, { popup = false, meanwhile }: { popup?: boolean; meanwhile?: () => Promise<unknown> } = {}): Promise<string> {
  // `left` marks the page object: a page restored has it, one loaded again does not.
  await page.evaluate((p) => {
    const win = p ? (window as WidgetWindow).w! : (window as WidgetWindow);
    win.left = win.widget!.lifecycle.length;
  }, popup);
  await page.evaluate(([url, p]) => {
    const win = p ? (window as WidgetWindow).w! : window;
    setTimeout(() => win.location.assign(url));
  }, [elsewhere, popup] as const);
  await page.waitForFunction(([url, p]) => {
    const win = p ? (window as WidgetWindow).w! : window;
    return win.location.href === url && win.document.readyState === 'complete';
  }, [elsewhere, popup] as const);
  await meanwhile?.();
  await page.evaluate((p) => {
    const win = p ? (window as WidgetWindow).w! : window;
    setTimeout(() => win.history.back());
  }, popup);
  await page.waitForFunction((p) => {
    const { widget, left } = p ? (window as WidgetWindow).w! : (window as WidgetWindow);
    return widget?.lifecycle.slice(left ?? 0).some((line) => line.startsWith('pageshow')) ?? false;
  }, popup);
  return page.evaluate((p) => {
    const { widget, left } = p ? (window as WidgetWindow).w! : (window as WidgetWindow);
    const since = widget!.lifecycle.slice(left ?? 0);
    if (left === undefined) return 'loaded';
    return since.includes('visibility hidden') && since.includes('pageshow persisted=true') ? 'restored' : `restored unhidden: ${since.join(', ')}`;
  }, popup);
}

describe('the page lifecycle as Chromium runs it: the back/forward cache', function () {
  this.timeout(60_000);
  const served = useFixturePages(
    { ...Object.fromEntries(WIDGETS.map((name) => [`${name}.html`, widget])), 'elsewhere.html': ELSEWHERE },
    ['bfcache-page'],
  );
  let context: BrowserContext;
  let profile: string;
  beforeEach(async () => {
    profile = mkdtempSync(join(tmpdir(), 'cif-bfcache-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: findChromium(),
      headless: true,
      args: ARGS,
      ignoreDefaultArgs: ['--disable-back-forward-cache'],
    });
  });
  afterEach(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });

  const run = <T>(page: Page, body: (widget: Widget) => T) => page.evaluate(`(${body.toString()})(window.widget)`) as Promise<Awaited<T>>;
  /** The outbox's entries of widget `name` in the origin's localStorage, read from whichever page of the origin `page` shows. */
  const storedOf = (page: Page, name: string) =>
    page.evaluate((prefix) => Object.keys(localStorage).filter((key) => key.startsWith(prefix)).length, `otel-cif//${name}.html/`);
  /** Why Chrome did not restore the page shown from the back/forward cache, as JSON; `undefined` when it did. */
  const notRestoredReasons = (page: Page) =>
    page.evaluate(() => JSON.stringify((performance.getEntriesByType('navigation')[0] as unknown as { notRestoredReasons?: { reasons?: unknown } }).notRestoredReasons?.reasons) ?? 'undefined');
  /** Goes back to the widget page, restored from the back/forward cache or loaded again; says which. */
  async function back(page: Page): Promise<'restored' | 'loaded'> {
    await page.goBack({ waitUntil: 'commit' });
    await page.waitForFunction(() => (window as unknown as { widget?: Widget }).widget?.lifecycle.some((line) => line.startsWith('pageshow')));
    return (await run(page, (w) => w.lifecycle.includes('pageshow persisted=true'))) ? 'restored' : 'loaded';
  }

  it('keeps the KPI events a page held as it went into the back/forward cache, and sends them once when it is restored and CIF comes', async () => {
    // Chrome may decline to cache a page (on a busy machine, one slow to freeze): the scenario is tried again with a
    // widget of its own until a page is cached, and every try must send each KPI event once, cached or loaded again.
    const tries: Array<{ storedWhileCached: number; how: string; reasons: string; calls: string[]; warnings: string[] }> = [];
    for (const name of CACHED) {
      const page = await context.newPage();
      await page.goto(`${served.url}${name}.html?cif=none`);
      // Still in the BatchSpanProcessor: the page hiding as it is left exports them.
      await run(page, (w) => w.record(['CallAccepted', 'CallHold']));
      await page.goto(`${served.url}elsewhere.html`);
      const storedWhileCached = await storedOf(page, name);
      const how = await back(page);
      await run(page, (w) => w.loadCif());
      // Restored, the page sends them; loaded again, it takes them over from the page that went.
      await page.waitForFunction(() => (window as unknown as { widget: Widget }).widget.calls().length >= 2 && (window as unknown as { widget: Widget }).widget.stored() === 0);
      tries.push({ storedWhileCached, how, reasons: await notRestoredReasons(page), calls: await run(page, (w) => w.calls()), warnings: await run(page, (w) => w.warnings) });
      await page.close();
      if (how === 'restored') break;
    }
    const restored = tries.find((t) => t.how === 'restored');
    expect({ restored, calls: tries.map((t) => t.calls) }).to.deep.equal({
      restored: { storedWhileCached: 2, how: 'restored', reasons: 'undefined', calls: ['CallAccepted', 'CallHold'], warnings: [] },
      calls: tries.map(() => ['CallAccepted', 'CallHold']),
    });
  });

  it('flushes at each of 50 trips away and back, restored from the back/forward cache or loaded again, keeps every KPI event while CIF is absent, then sends each once, in order', async () => {
    // Chrome declines to cache a page with an unload listener, as it may decline any page (on a busy machine, for a
    // reason it reports as "masked"): the page is then loaded again and takes over what the page before it stored.
    // Trips 10 and 30 are made so; every trip is one or the other, and a restored page was hidden on its way into the
    // cache, which is when the processor flushes.
    const page = await context.newPage();
    // CIF comes after the last trip: the calls wait for it however long the trips take, not the default 20 s.
    await page.goto(`${served.url}often.html?cif=none&ready=600000`);
    const names = Array.from({ length: 50 }, (_, i) => `Step${i}`);
    const declined = [10, 30];
    const trips: string[] = [];
    for (const [i, name] of names.entries()) {
      // `left` marks the page object: a page restored has it, one loaded again does not.
      await page.evaluate(
        ([n, decline]) => {
          const { widget } = window as unknown as { widget: Widget };
          widget.record([n]);
          if (decline) addEventListener('unload', () => {});
          Object.assign(window, { left: widget.lifecycle.length });
        },
        [name, declined.includes(i)] as const,
      );
      await page.goto(`${served.url}elsewhere.html`);
      await page.goBack({ waitUntil: 'commit' });
      await page.waitForFunction(() => {
        const { widget, left } = window as unknown as { widget?: Widget; left?: number };
        return widget?.lifecycle.slice(left ?? 0).some((line) => line.startsWith('pageshow')) ?? false;
      });
      trips.push(
        await page.evaluate(() => {
          const { widget, left } = window as unknown as { widget: Widget; left?: number };
          const since = widget.lifecycle.slice(left ?? 0);
          if (left === undefined) return 'loaded';
          return since.includes('visibility hidden') && since.includes('pageshow persisted=true') ? 'restored' : `restored unhidden: ${since.join(', ')}`;
        }),
      );
    }
    const stored = await run(page, (w) => w.stored());
    await run(page, (w) => w.loadCif());
    await page.waitForFunction((n) => (window as unknown as { widget: Widget }).widget.calls().length >= n, names.length);
    expect({
      declined: declined.map((i) => trips[i]),
      unexplained: trips.filter((trip) => trip !== 'restored' && trip !== 'loaded'),
      restored: trips.filter((trip) => trip === 'restored').length > 0,
      stored,
      calls: await run(page, (w) => w.calls()),
      left: await run(page, (w) => w.stored()),
      warnings: await run(page, (w) => w.warnings),
    }).to.deep.equal({ declined: ['loaded', 'loaded'], unexplained: [], restored: true, stored: 50, calls: names, left: 0, warnings: [] });
  });

  it('writes at pagehide the KPI events of a page left before its lock came; a tab opened later sends them once, and the page, back, never', async () => {
    const page = await context.newPage();
    await page.goto(`${served.url}early.html?cif=none&lock=late`);
    await run(page, (w) => w.record(['CallAccepted', 'CallHold']));
    await page.goto(`${served.url}elsewhere.html`);
    // Written as the page went: the origin's storage shows them, to the tab opened next too.
    await page.waitForFunction((prefix) => Object.keys(localStorage).filter((key) => key.startsWith(prefix)).length === 2, 'otel-cif//early.html/');
    const other = await context.newPage();
    await other.goto(`${served.url}early.html?cif=ready`);
    await other.waitForFunction(() => (window as unknown as { widget: Widget }).widget.calls().length >= 2);
    // Back, restored or loaded again, with CIF: what it wrote without its lock is never its own to send.
    await back(page);
    await run(page, (w) => w.loadCif());
    await page.waitForFunction(() => (window as unknown as { widget: Widget }).widget.pending() === 0);
    expect({ sent: await run(other, (w) => w.calls()), resent: await run(page, (w) => w.calls()), stored: await storedOf(page, 'early'), warnings: await run(page, (w) => w.warnings) }).to.deep.equal({
      sent: ['CallAccepted', 'CallHold'],
      resent: [],
      stored: 0,
      warnings: [],
    });
  });

  it('sends once, from a tab opened meanwhile, the KPI events stored by a page in the back/forward cache, which Chrome then evicts', async () => {
    const page = await context.newPage();
    await page.goto(`${served.url}evicted.html?cif=none`);
    await run(page, (w) => w.record(['CallAccepted', 'CallHold']));
    await page.goto(`${served.url}elsewhere.html`);
    const other = await context.newPage();
    await other.goto(`${served.url}evicted.html?cif=ready`);
    // The new tab asks for the cached page's lock: Chrome evicts that page, and the lock is the new tab's.
    await other.waitForFunction(() => (window as unknown as { widget: Widget }).widget.calls().length >= 2);
    const how = await back(page);
    const reasons = await notRestoredReasons(page);
    expect({ how, sent: await run(other, (w) => w.calls()), resent: await run(page, (w) => w.calls()), stored: await storedOf(page, 'evicted') }).to.deep.equal({
      how: 'loaded',
      sent: ['CallAccepted', 'CallHold'],
      resent: [],
      stored: 0,
    });
    // Chrome names the lock, or says "masked" for a reason it does not expose: on a busy machine it may have turned
    // the page away for one of those before the new tab asked for the lock.
    expect(reasons).to.be.oneOf([JSON.stringify([{ reason: 'weblocks-contention' }]), JSON.stringify([{ reason: 'masked' }])]);
  });
});

describe('the page lifecycle as Firefox runs it: the back/forward cache', function () {
  this.timeout(60_000);
  const served = useFixturePages(
    { 'trips.html': widget, 'no-outbox.html': widget, 'elsewhere.html': ELSEWHERE },
    ['bfcache-page'],
    undefined,
    launchFirefox,
  );

  it('loads a widget page again at each trip away and back, as Firefox caches no page that holds a Web Lock, and sends each KPI event once', async () => {
    // The outbox holds its lock for the page's life, so Firefox never keeps the page: each page loaded again takes over
    // what the page before it stored as it hid. CIF comes after the last trip.
    const { page, errors } = await served.browser.newPage();
    await page.goto(`${served.url}trips.html?cif=none&ready=600000`);
    const names = Array.from({ length: 5 }, (_, i) => `Step${i}`);
    const trips: string[] = [];
    for (const name of names) {
      // Still in the BatchSpanProcessor: the page hiding as it is left exports it.
      await page.evaluate((n) => (window as unknown as { widget: Widget }).widget.record([n]), name);
      trips.push(await trip(page, `${served.url}elsewhere.html`));
    }
    const stored = await run(page, (w) => w.stored());
    await run(page, (w) => w.loadCif());
    await page.waitForFunction((n) => (window as unknown as { widget: Widget }).widget.calls().length >= n && (window as unknown as { widget: Widget }).widget.stored() === 0, names.length);
    expect({ trips, stored, calls: await run(page, (w) => w.calls()), warnings: await run(page, (w) => w.warnings), errors }).to.deep.equal({
      trips: names.map(() => 'loaded'),
      stored: names.length,
      calls: names,
      warnings: [],
      errors: [],
    });
  });

  it('with outbox: false, keeps the page in the back/forward cache, and the page restored sends the KPI events it held once CIF comes', async () => {
    const { page, errors } = await served.browser.newPage();
    await page.goto(`${served.url}no-outbox.html?cif=none&outbox=false`);
    await run(page, (w) => w.record(['CallAccepted', 'CallHold']));
    const how = await trip(page, `${served.url}elsewhere.html`);
    const pending = await run(page, (w) => w.pending());
    await run(page, (w) => w.loadCif());
    await page.waitForFunction(() => (window as unknown as { widget: Widget }).widget.pending() === 0);
    expect({ how, pending, calls: await run(page, (w) => w.calls()), stored: await run(page, (w) => w.stored()), warnings: await run(page, (w) => w.warnings), errors }).to.deep.equal({
      how: 'restored',
      pending: 2,
      calls: ['CallAccepted', 'CallHold'],
      stored: 0,
      warnings: [],
      errors: [],
    });
  });
});

describe('the page lifecycle as WebKit runs it: the back/forward cache', function () {
  this.timeout(60_000);
  // The widget page opens in a window of its own, from a page the driver stays on (see `trip`).
  const served = useFixturePages(
    {
      'opener.html': `<!doctype html><button onclick="window.w = window.open(new URLSearchParams(location.search).get('open'), 'widget')">open</button>`,
      'kept.html': widget,
      'taken.html': widget,
      'elsewhere.html': ELSEWHERE,
    },
    ['bfcache-page'],
    undefined,
    launchWebKit,
  );
  const elsewhere = () => `${served.url}elsewhere.html`;

  /** A page of the browser that opened the widget page at `path` in `window.w`, and `run` there; `errors` holds those of both pages. */
  async function openWidget(path: string) {
    const { page, errors } = await served.browser.newPage();
    await page.goto(`${served.url}opener.html?open=${encodeURIComponent(path)}`);
    await page.click('button');
    await page.waitForFunction(() => (window as WidgetWindow).w?.widget !== undefined);
    const inWidget = <T>(body: (widget: Widget) => T): Promise<Awaited<T>> =>
      // As JSON: what the widget's window answers is of its realm, not the opener's.
      page.evaluate(`Promise.resolve((${body.toString()})(window.w.widget)).then((value) => JSON.stringify(value))`).then((json) => json === undefined ? undefined : JSON.parse(json as string)) as Promise<Awaited<T>>;
    const widgetErrors = () => page.evaluate(() => [...(((window as WidgetWindow).w as unknown as { __testErrors?: string[] }).__testErrors ?? [])]);
    return { page, inWidget, errors: async () => [...errors, ...(await widgetErrors())] };
  }

  // WebKit keeps a page that holds Web Locks in its cache, lets go of the locks, and says so once the page is restored.
  it('keeps the KPI events a page held as it went into the back/forward cache, which let go of its lock, and sends them once when it is restored and CIF comes', async () => {
    const { page, inWidget, errors } = await openWidget('kept.html?cif=none&ready=600000');
    // Still in the BatchSpanProcessor: the page hiding as it is left exports them.
    await inWidget((w) => w.record(['CallAccepted', 'CallHold']));
    const how = await trip(page, elsewhere(), { popup: true });
    const stored = await inWidget((w) => w.stored());
    await inWidget((w) => w.loadCif());
    await page.waitForFunction(() => (window as WidgetWindow).w!.widget!.pending() === 0);
    expect({ how, stored, calls: await inWidget((w) => w.calls()), left: await inWidget((w) => w.stored()), warnings: await inWidget((w) => w.warnings), errors: await errors() }).to.deep.equal({
      how: 'restored',
      stored: 2,
      calls: ['CallAccepted', 'CallHold'],
      left: 0,
      warnings: [],
      errors: [],
    });
  });

  it('sends once, from a tab opened meanwhile, the KPI events stored by a page in the back/forward cache, and the page, restored with CIF, never', async () => {
    const { page, inWidget, errors } = await openWidget('taken.html?cif=none&ready=600000');
    await inWidget((w) => w.record(['CallAccepted', 'CallHold']));
    let sent: string[] = [];
    const how = await trip(page, elsewhere(), {
      popup: true,
      // The new tab finds the cached page's lock free, and takes its calls.
      meanwhile: async () => {
        const { page: other } = await served.browser.newPage();
        await other.goto(`${served.url}taken.html?cif=ready`);
        await other.waitForFunction(() => (window as WidgetWindow).widget!.calls().length >= 2);
        sent = await other.evaluate(() => (window as WidgetWindow).widget!.calls());
      },
    });
    await inWidget((w) => w.loadCif());
    await page.waitForFunction(() => (window as WidgetWindow).w!.widget!.pending() === 0);
    expect({
      how,
      sent,
      resent: await inWidget((w) => w.calls()),
      kept: await inWidget((w) => w.stats().kpiEventsKept),
      stored: await inWidget((w) => w.stored()),
      warnings: await inWidget((w) => w.warnings),
      errors: await errors(),
    }).to.deep.equal({ how: 'restored', sent: ['CallAccepted', 'CallHold'], resent: [], kept: 2, stored: 0, warnings: [], errors: [] });
  });
});
