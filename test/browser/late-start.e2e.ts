import { expect } from 'chai';
import type { CifExporterStats } from '../../src/index.js';
import type { RecordedCifCall } from '../../src/testing/index.js';
import { BROWSERS } from './browsers.js';
import { useFixturePage } from './serve.js';

interface Results {
  exportedBeforeStart: number;
  calls: RecordedCifCall[];
  stats: CifExporterStats;
}

for (const [browserName, launch] of BROWSERS) describe(`a CIF library that is present but not started yet, in ${browserName}`, function () {
  this.timeout(60_000);
  const fixture = useFixturePage('late-start-page', { launch });

  it('delivers a KPI event exported before CIFInitDone once the library has started, without spending its retries', async () => {
    const { page, errors } = await fixture.browser.newPage();
    await page.goto(fixture.url);
    const { exportedBeforeStart, calls, stats } = await page.evaluate(() =>
      (window as unknown as { lateStartPage: { results(): Promise<Results> } }).lateStartPage.results(),
    );
    expect(exportedBeforeStart).to.equal(0);
    expect(calls).to.deep.equal([
      {
        data: {
          conversationId: 'conv-late',
          providerSessionId: 'CA-late',
          events: [{ kpiEventName: 'CallAccepted', eventTimestamp: '2026-11-25T10:15:30.123Z' }],
        },
        eventName: 'CallAccepted',
        correlationId: calls[0]!.correlationId,
      },
    ]);
    expect(stats).to.include({ kpiEventsSent: 1, kpiEventsDelivered: 1, callsMade: 2, callsFailed: 0, kpiEventsPending: 0 });
    expect(stats.dropped.host_error).to.equal(0);
    expect(errors).to.deep.equal([]);
  });

  it('keeps a KPI event the library failed past readyTimeoutMillis, and delivers it once CIFInitDone comes at last', async () => {
    const { page, errors } = await fixture.browser.newPage();
    // Its first call is refused; its wait for CIF runs out at 100 ms, its three attempts then fail, and the library
    // starts only once the exporter kept the event.
    await page.goto(`${fixture.url}?ready=100&start=kept`);
    const kept = await page.evaluate(() => (window as unknown as { lateStartPage: { startWhenKept(): Promise<CifExporterStats> } }).lateStartPage.startWhenKept());
    const { calls, stats } = await page.evaluate(() => (window as unknown as { lateStartPage: { results(): Promise<Results> } }).lateStartPage.results());
    expect(kept).to.include({ kpiEventsKept: 1, kpiEventsDelivered: 0, callsMade: 4 });
    expect(calls.map((c) => c.eventName)).to.deep.equal(['CallAccepted']);
    expect(stats).to.include({ kpiEventsSent: 1, kpiEventsDelivered: 1, kpiEventsKept: 0, kpiEventsPending: 0, callsMade: 5, callsFailed: 0 });
    expect(stats.dropped).to.include({ host_error: 0, cif_not_loaded: 0 });
    expect(errors).to.deep.equal([]);
  });
});
