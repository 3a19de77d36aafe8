// A widget whose own data fills the origin's localStorage: the outbox's writes then fail at the
// browser's quota, which each engine reports with an exception of its own. The widget page of
// fixtures/bfcache-page.ts: a BatchSpanProcessor and a CifSpanExporter at their defaults.
import { expect } from 'chai';
import { BROWSERS, type TestPage } from './browsers.js';
import { useFixturePages } from './serve.js';
import type { Widget } from './fixtures/bfcache-page.js';

for (const [browserName, launch] of BROWSERS) describe(`the outbox at the origin's localStorage quota, in ${browserName}`, function () {
  this.timeout(60_000);
  const served = useFixturePages({ 'full.html': '<!doctype html><meta charset="utf-8"><script src="bfcache-page.js"></script>' }, ['bfcache-page'], undefined, launch);
  const run = <T>(page: TestPage, body: (widget: Widget) => T) => page.evaluate(`(${body.toString()})(window.widget)`) as Promise<Awaited<T>>;

  it('counts in notStored.full the calls it could not store while the widget’s own data filled the quota, keeps them to send once CIF comes, and stores again once there is room', async () => {
    const { page, errors } = await served.browser.newPage();
    await page.goto(`${served.url}full.html?cif=none`);
    // The widget's own data, in pieces halved down to 16 characters, until not even those fit.
    const filled = await page.evaluate(() => {
      let pieces = 0;
      for (let size = 1 << 20; size >= 16; size >>= 1) {
        try {
          for (;;) localStorage.setItem(`widget-data-${pieces++}`, 'x'.repeat(size));
        } catch {
          // Full for pieces of this size.
        }
      }
      return pieces;
    });
    expect(filled).to.be.greaterThan(0);
    // Exported now; the export ends only once CIF comes, or its wait runs out.
    await run(page, (w) => void (w.record(['CallAccepted', 'CallHold']), w.flush()));
    await page.waitForFunction(() => {
      const { full, store_error } = (window as unknown as { widget: Widget }).widget.stats().outbox.notStored;
      return full + store_error > 0;
    });
    const atQuota = await run(page, (w) => ({ stored: w.stored(), outbox: w.stats().outbox, pending: w.stats().kpiEventsPending, warnings: [...w.warnings] }));

    await page.evaluate(() => Object.keys(localStorage).filter((key) => key.startsWith('widget-data-')).forEach((key) => localStorage.removeItem(key)));
    await run(page, (w) => void (w.record(['CallEnded']), w.flush()));
    await page.waitForFunction(() => (window as unknown as { widget: Widget }).widget.stored() > 0);
    const withRoom = await run(page, (w) => ({ stored: w.stored(), notStored: w.stats().outbox.notStored }));

    await run(page, (w) => w.loadCif());
    await page.waitForFunction(() => (window as unknown as { widget: Widget }).widget.stats().kpiEventsPending === 0);
    const stats = await run(page, (w) => w.stats());
    expect({ atQuota, withRoom, calls: await run(page, (w) => w.calls()), stored: await run(page, (w) => w.stored()), errors }).to.deep.equal({
      atQuota: {
        stored: 0,
        outbox: { stored: 0, notStored: { full: 2, store_error: 0 }, replayed: 0, expired: 0, unreadable: 0, storeErrors: 0 },
        pending: 2,
        warnings: [`opentelemetry-exporter-cif outbox: call 'CallAccepted' not stored: over maxBytes ${2 * 1024 * 1024} or the quota (getStats().outbox.notStored.full)`],
      },
      withRoom: { stored: 1, notStored: { full: 2, store_error: 0 } },
      calls: ['CallAccepted', 'CallHold', 'CallEnded'],
      stored: 0,
      errors: [],
    });
    expect(stats).to.include({ kpiEventsSent: 3, kpiEventsDelivered: 3, kpiEventsKept: 0 });
  });
});
