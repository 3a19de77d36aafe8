import { expect } from 'chai';
import type { CifLogRecordExporterStats } from '../../src/logs.js';
import type { RecordedCifCall } from '../../src/testing/index.js';
import { BROWSERS, type TestBrowser, type TestPage } from './browsers.js';
import { useFixturePage, type FixturePage } from './serve.js';

interface LogsPage {
  emitted: Promise<void>;
  calls: RecordedCifCall[];
  stats(): CifLogRecordExporterStats;
  flush(): Promise<void>;
}

declare const logsPage: LogsPage;

const identity = { conversationId: 'conv-logs', providerSessionId: 'CA-logs' };
/** Records emitted outside any trace share one id per conversation: a v5 UUID of [conversation, provider session]. */
const conversationCorrelationId = 'c04a933b-241d-5b91-8cc0-2241fd5011c2';

/** Every call the page's three KPI events make, in full. */
const expectedCalls: RecordedCifCall[] = [
  {
    data: {
      ...identity,
      events: [{ kpiEventName: 'CallAccepted', eventTimestamp: '2026-11-25T10:15:30.000Z', notificationResponseAction: 'accepted' }],
    },
    eventName: 'CallAccepted',
    correlationId: conversationCorrelationId,
  },
  {
    data: {
      ...identity,
      events: [
        {
          kpiEventName: 'CallTransferred',
          eventTimestamp: '2026-11-25T10:15:31.000Z',
          kpiEventReason: 'skill mismatch',
          customData: [{ attribute: 'msdyn_customattribute1', value: 'billing' }],
        },
      ],
    },
    eventName: 'CallTransferred',
    correlationId: conversationCorrelationId,
  },
  {
    data: { ...identity, events: [{ kpiEventName: 'CallHold', eventTimestamp: '2026-11-25T10:15:32.000Z', additionalData: '{"hold":1}' }] },
    eventName: 'CallHold',
    // The trace id of the span context the record was emitted in, as a GUID.
    correlationId: '4bf92f35-77b3-4da6-a3ce-929d0e0e4736',
  },
];

async function openPage({ browser, url }: FixturePage<TestBrowser>): Promise<{ page: TestPage; errors: string[] }> {
  const opened = await browser.newPage();
  await opened.page.goto(url);
  await opened.page.evaluate(() => logsPage.emitted);
  return opened;
}

/** Every KPI event delivered in one call of its own, and no counter of a loss, cut or error moved. */
function expectAllDelivered(stats: CifLogRecordExporterStats): void {
  const zeros = (counters: object) => Object.fromEntries(Object.keys(counters).map((key) => [key, 0]));
  expect(stats).to.deep.equal({
    logRecordsSeen: 3,
    cifLogRecords: 3,
    kpiEventsSent: 3,
    kpiEventsDelivered: 3,
    kpiEventsPending: 0,
    kpiEventsKept: 0,
    callsMade: 3,
    callsRetried: 0,
    callsFailed: 0,
    callsTimedOut: 0,
    callsQueued: 0,
    callsInFlight: 0,
    callsAbandoned: 0,
    callbackErrors: 0,
    dropped: zeros(stats.dropped),
    truncated: zeros(stats.truncated),
    droppedFields: zeros(stats.droppedFields),
    // On by default in a browser, with the page's lock held (the page waits for it): CIF ready and
    // slots free, each call goes to the host in the task that admits it, so none is ever written.
    outbox: { stored: 0, notStored: { full: 0, store_error: 0 }, replayed: 0, expired: 0, unreadable: 0, storeErrors: 0 },
  });
  expect(Object.keys(stats.dropped)).to.include.members(['missing_identity', 'invalid_log_record', 'host_error', 'queue_full']);
}

for (const [browserName, launch] of BROWSERS) describe(`log-based KPI events from the browser logs SDK in ${browserName}`, function () {
  this.timeout(60_000);
  // Zone follows promises, not native async/await: ES2016 turns `await` into promises.
  const fixture = useFixturePage('logs-page', { target: 'es2016', launch });

  it('sends emitKpiEvent and logger.emit events under withCifSession, after an await, in a timer and in a trace, without the body', async () => {
    const { page, errors } = await openPage(fixture);
    await page.evaluate(() => logsPage.flush());
    const { calls, stats } = await page.evaluate(() => ({ calls: logsPage.calls, stats: logsPage.stats() }));
    expect(calls).to.deep.equal(expectedCalls);
    expect(JSON.stringify(calls)).not.to.include('4111');
    expect(JSON.stringify(calls)).not.to.include('555 0100');
    expectAllDelivered(stats);
    expect(errors).to.deep.equal([]);
  });

  it('exports the batch when the page is hidden, before its schedule comes due', async () => {
    const { page, errors } = await openPage(fixture);
    const before = await page.evaluate(() => ({ calls: logsPage.calls.length, stats: logsPage.stats() }));
    expect(before.calls).to.equal(0);
    expect(before.stats.logRecordsSeen).to.equal(0);

    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, value: 'hidden' });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await page.waitForFunction(() => logsPage.stats().kpiEventsDelivered === 3);
    const { calls, stats } = await page.evaluate(() => ({ calls: logsPage.calls, stats: logsPage.stats() }));
    expect(calls).to.deep.equal(expectedCalls);
    expectAllDelivered(stats);
    expect(errors).to.deep.equal([]);
  });
});
