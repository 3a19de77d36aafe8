// The outbox end to end for log-based KPI events: the browser logs SDK's BatchLogRecordProcessor
// and CifLogRecordExporter at their defaults (fixtures/logs-outbox-page.ts). Each test reloads or
// opens tabs of one widget (its own path, so its own outbox), records what each page's host
// received, and compares the whole story with what the outbox promises: every call sent once,
// and none sent again once handed to the host.
import { expect } from 'chai';
import { BROWSERS } from './browsers.js';
import { useFixturePages } from './serve.js';
import { callsOf, load, seen, widgetTabs } from './widget-tabs.js';

for (const [browserName, launch] of BROWSERS) describe(`the outbox across reloads and tabs for log-based KPI events, in ${browserName}`, function () {
  this.timeout(60_000);
  const WIDGETS = ['reload-none', 'reload-starting', 'reload-burst', 'silent', 'tabs', 'behind'];
  const html = '<!doctype html><meta charset="utf-8"><script src="logs-outbox-page.js"></script>';
  const served = useFixturePages(Object.fromEntries(WIDGETS.map((name) => [`${name}.html`, html])), ['logs-outbox-page'], undefined, launch);
  const { open, reload, observe, outboxLocked, twoTabsTakeOver, silentHostStory } = widgetTabs(() => served.browser, () => served.url);

  const cases = [
    {
      title: 'with no CIF library, exported at once, and sent by the reloaded page',
      widget: 'reload-none',
      first: load('none', 1, ['CallAccepted', 'CallHold']),
      storedAtReload: 2,
    },
    {
      title: 'with the CIF library still starting, still in the BatchLogRecordProcessor until the reload hides the page',
      widget: 'reload-starting',
      first: load('starting', 1, ['CallAccepted', 'CallHold'], 'hide'),
      storedAtReload: 0,
    },
    {
      title: 'with the CIF library still starting, 1000 records: a full batch exported at once, the rest in the processor until the reload hides the page',
      widget: 'reload-burst',
      first: load('starting', 1, Array.from({ length: 1000 }, (_, i) => `Step${i + 1}`), 'hide'),
      storedAtReload: 512,
    },
  ];
  cases.forEach(({ title, widget, first, storedAtReload }) =>
    it(`sends the log-based KPI events recorded while CIF was not ready once, after a reload, and never again: ${title}`, async () => {
      const [reloaded, later] = [load('ready', 2, ['CallResume']), load('ready', 3, ['CallEnded'])];
      const tab = await open(widget, first);
      if (first.flush === 'hide') await outboxLocked(tab);
      const story = [await observe(tab, { stored: storedAtReload })];
      await reload(tab, widget, reloaded);
      story.push(await observe(tab, { calls: first.events.length + 1 }));
      await reload(tab, widget, later);
      story.push(await observe(tab, { calls: 1 }));
      expect(story).to.deep.equal([seen([], storedAtReload), seen([...callsOf(first), ...callsOf(reloaded)]), seen(callsOf(later))]);
    }),
  );

  it('keeps a log-based KPI event emitted while an earlier export waits for CIF, and the reloaded page sends both once', async () => {
    const [first, reloaded] = [load('none', 1, ['CallAccepted']), load('ready', 2, ['CallResume'])];
    const hold: [string, string] = ['CallHold', '2026-11-25T10:01:01.123Z'];
    const tab = await open('behind', first);
    const story = [await observe(tab, { stored: 1 })];
    await tab.page.evaluate(([name, at]) => (window as unknown as { widget: { emit(name: string, at: string): void } }).widget.emit(name, at), hold);
    // The processor's default schedule (1 s) comes due while the first export still waits for CIF.
    story.push(await observe(tab, { stored: 2 }));
    await reload(tab, 'behind', reloaded);
    story.push(await observe(tab, { calls: 3 }));
    const both = { ...first, events: [...first.events, hold] };
    expect(story).to.deep.equal([seen([], 1), seen([], 2), seen([...callsOf(both), ...callsOf(reloaded)])]);
  });

  it('never sends again a log-based KPI event handed to a host that did not answer, and sends those queued behind it once after a reload', async () => {
    const { seen: story, promised } = await silentHostStory();
    expect(story).to.deep.equal(promised);
  });

  it('lets exactly one of two open tabs send each log-based KPI event a closed page left, and each tab its own once', async () => {
    const { seen: story, promised } = await twoTabsTakeOver();
    expect(story).to.deep.equal(promised);
  });
});
