import { expect } from 'chai';
import type { CifExporterStats } from '../../src/index.js';
import type { RecordedCifCall } from '../../src/testing/index.js';
import { BROWSERS, type TestPage } from './browsers.js';
import { useFixturePage } from './serve.js';

interface Results {
  calls: RecordedCifCall[];
  stats: CifExporterStats;
}

async function clickThrough(page: TestPage, url: string): Promise<Results> {
  await page.goto(url);
  await page.evaluate(() => (window as unknown as { zonePage: { ready: Promise<void> } }).zonePage.ready);
  await page.click('#hold');
  return page.evaluate(() => (window as unknown as { zonePage: { results(): Promise<Results> } }).zonePage.results());
}

for (const [browserName, launch] of BROWSERS) describe(`the CIF session across await, timers and events in ${browserName}`, function () {
  this.timeout(60_000);
  // Zone follows promises, not native async/await: ES2016 turns `await` into promises.
  const fixture = useFixturePage('zone-page', { body: '<button id="hold">Hold</button>', target: 'es2016', launch });

  it('stamps the session on spans started after an await, in a timer and in a click handler with ZoneContextManager', async () => {
    const { page, errors } = await fixture.browser.newPage();
    const { calls, stats } = await clickThrough(page, `${fixture.url}?context=zone`);
    const identity = { conversationId: 'conv-zone', providerSessionId: 'CA-zone' };
    expect(calls.map((call) => call.data)).to.deep.equal([
      { ...identity, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: '2026-11-25T10:15:30.000Z' }] },
      { ...identity, events: [{ kpiEventName: 'CallTransferred', eventTimestamp: '2026-11-25T10:15:31.000Z' }] },
      { ...identity, events: [{ kpiEventName: 'CallHold', eventTimestamp: '2026-11-25T10:15:32.000Z' }] },
    ]);
    expect(stats.dropped.missing_identity).to.equal(0);
    expect(errors).to.deep.equal([]);
  });

  it('loses the session there with StackContextManager, and counts the KPI events as missing_identity', async () => {
    const { page } = await fixture.browser.newPage();
    const { calls, stats } = await clickThrough(page, `${fixture.url}?context=stack`);
    expect(calls).to.deep.equal([]);
    expect(stats.dropped.missing_identity).to.equal(3);
  });
});
