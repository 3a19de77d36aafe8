// The outbox end to end, as a widget page without a bundler uses it: the script-tag bundles of
// dist/browser, default options, a WebTracerProvider with a BatchSpanProcessor (what the README
// sets up for a page, and what exports a widget's last spans when a reload hides the page), and
// the stand-in CIF host each load installs or not. Each test reloads, crashes or opens tabs of one
// widget (its own path, so its own outbox), records what each page's host received, and compares
// the whole story with what the outbox promises: every call sent once, with its own
// eventTimestamp and correlationId, and none sent again once handed to the host.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { SCRIPT_TAG_BUNDLES, buildScriptTagBundles } from '../../scripts/build-browser.js';
import type { Page } from 'playwright-core';
import { BROWSERS, type TestBrowser } from './browsers.js';
import type { Browser } from './chromium.js';
import { servePage, type ServedPage } from './serve.js';
import { callsOf, load, seen, widgetTabs } from './widget-tabs.js';

for (const [browserName, launch] of BROWSERS) describe(`the outbox across reloads, crashes and tabs, through the script-tag bundle in ${browserName}`, function () {
  this.timeout(60_000);
  let browser: TestBrowser;
  let served: ServedPage;

  /** The widget page of the script-tag bundle, served once per test under its own path: one widget each. */
  const WIDGETS = ['reload-none', 'reload-starting', 'crash', 'tabs', 'later-tab', 'silent', 'delivered'];

  before(async () => {
    await buildScriptTagBundles();
    const bundles = Object.values(SCRIPT_TAG_BUNDLES).map(({ file }) => [basename(file), readFileSync(file)]);
    const page = readFileSync(new URL('./fixtures/outbox-reload.html', import.meta.url));
    served = await servePage({ ...Object.fromEntries(bundles), ...Object.fromEntries(WIDGETS.map((name) => [`${name}.html`, page])) });
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await served?.stop();
  });
  const { open, reload, observe, outboxLocked, twoTabsTakeOver, silentHostStory } = widgetTabs(() => browser, () => served.url);

  describe('sends the KPI events recorded while CIF was not ready once, after a reload, and never again', () => {
    const cases = [
      {
        title: 'with no CIF library, exported at once, replayed once the reloaded page’s library starts',
        widget: 'reload-none',
        first: load('none', 1, ['CallAccepted', 'CallHold']),
        reloaded: load('late', 2, ['CallResume']),
        storedAtReload: 2,
      },
      {
        title: 'with the CIF library still starting, still in the BatchSpanProcessor until the reload hides the page',
        widget: 'reload-starting',
        first: load('starting', 1, ['CallAccepted', 'CallHold'], 'hide'),
        reloaded: load('ready', 2, ['CallResume']),
        storedAtReload: 0,
      },
    ];
    cases.forEach(({ title, widget, first, reloaded, storedAtReload }) => {
      it(title, async () => {
        const later = [load('ready', 3, ['CallTransfer']), load('ready', 4, ['CallEnded'])];
        const tab = await open(widget, first);
        if (first.flush === 'hide') await outboxLocked(tab);
        const story = [await observe(tab, { stored: storedAtReload })];
        await reload(tab, widget, reloaded);
        story.push(await observe(tab, { calls: 3 }));
        for (const widgetLoad of later) {
          await reload(tab, widget, widgetLoad);
          story.push(await observe(tab, { calls: 1 }));
        }
        expect(story).to.deep.equal([
          seen([], storedAtReload),
          seen([...callsOf(first), ...callsOf(reloaded)]),
          ...later.map((widgetLoad) => seen(callsOf(widgetLoad))),
        ]);
      });
    });
  });

  // A renderer crash is Chromium's to cause (DevTools' Page.crash); Firefox has no such command.
  if (browserName === 'Chromium') it('sends the KPI events waiting when the renderer crashed once, from a new tab of the widget', async () => {
    const [crashed, next] = [load('none', 1, ['CallAccepted', 'CallHold']), load('ready', 2, ['CallResume'])];
    const tab = await open('crash', crashed);
    const story = [await observe(tab, { stored: 2 })];
    // Launched by launchChromium(): its pages are Playwright's.
    const page = tab.page as Page;
    const session = await (browser as Browser).context.newCDPSession(page);
    const crash = page.waitForEvent('crash');
    // The renderer dies before it can answer the command.
    void session.send('Page.crash').catch(() => undefined);
    await crash;
    story.push(await observe(await open('crash', next), { calls: 3 }));
    expect(story).to.deep.equal([seen([], 2), seen([...callsOf(crashed), ...callsOf(next)])]);
  });

  it('lets exactly one of two open tabs send each KPI event a closed page left, and each tab its own once', async () => {
    const { seen: story, promised } = await twoTabsTakeOver();
    expect(story).to.deep.equal(promised);
  });

  it('sends from an open tab, once, the KPI events a tab opened after it left when it closed', async () => {
    const [first, later] = [load('ready', 1, ['CallAccepted']), load('none', 2, ['CallHold', 'CallEnded'])];
    const tab = await open('later-tab', first);
    const story = [await observe(tab, { calls: 1 })];
    const laterTab = await open('later-tab', later);
    story.push(await observe(laterTab, { stored: 2 }));
    await laterTab.page.close();
    story.push(await observe(tab, { calls: 3 }));
    expect(story).to.deep.equal([seen(callsOf(first)), seen([], 2), seen([...callsOf(first), ...callsOf(later)])]);
  });

  it('never sends again a call handed to a host that did not answer, and sends the calls queued behind it once', async () => {
    const { seen: story, promised } = await silentHostStory();
    expect(story).to.deep.equal(promised);
  });

  it('never sends a delivered KPI event again on later loads, while one stored in between is sent once', async () => {
    const loads = [load('ready', 1, ['CallAccepted', 'CallHold']), load('none', 2, ['CallResume']), load('ready', 3, ['CallTransfer']), load('ready', 4, ['CallEnded'])];
    const [delivered, waiting, reloaded, later] = loads;
    const tab = await open('delivered', delivered!);
    const story = [await observe(tab, { calls: 2 })];
    await reload(tab, 'delivered', waiting!);
    story.push(await observe(tab, { stored: 1 }));
    await reload(tab, 'delivered', reloaded!);
    story.push(await observe(tab, { calls: 2 }));
    await reload(tab, 'delivered', later!);
    story.push(await observe(tab, { calls: 1 }));
    expect(story).to.deep.equal([
      seen(callsOf(delivered!)),
      seen([], 1),
      seen([...callsOf(waiting!), ...callsOf(reloaded!)]),
      seen(callsOf(later!)),
    ]);
  });
});
