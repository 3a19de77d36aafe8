import { expect } from 'chai';
import { traceIdToGuid, type CifExporterStats } from '../../src/index.js';
import type { RecordedCifCall } from '../../src/testing/index.js';
import { BROWSERS } from './browsers.js';
import { useFixturePage } from './serve.js';

interface Results {
  calls: RecordedCifCall[];
  stats: CifExporterStats;
  traceId: string;
  instrumented: Array<{ scope: string; inSession: boolean; events: string[] }>;
}

for (const [browserName, launch] of BROWSERS) describe(`the web instrumentations under a CIF session, in ${browserName}`, function () {
  this.timeout(60_000);
  const fixture = useFixturePage('instrumentations-page', { body: '<button id="accept">Accept</button>', target: 'es2016', launch });

  it('sends only the KPI events the widget recorded, none of the events of the XHR, fetch, document-load and user-interaction spans', async () => {
    const { page, errors } = await fixture.browser.newPage();
    await page.goto(fixture.url);
    await page.evaluate(() => (window as unknown as { instrumentationsPage: { loaded(): Promise<void> } }).instrumentationsPage.loaded());
    await page.click('#accept');
    const { calls, stats, traceId, instrumented } = await page.evaluate(() =>
      (window as unknown as { instrumentationsPage: { results(): Promise<Results> } }).instrumentationsPage.results(),
    );

    // The instrumentations made spans under the session, with events of their own: what must not be sent.
    const xhrEvents = instrumented.filter((s) => s.scope === '@opentelemetry/instrumentation-xml-http-request' && s.inSession).flatMap((s) => s.events);
    expect(xhrEvents).to.include.members(['open', 'send', 'loaded', 'error', 'abort']);
    expect(instrumented.filter((s) => s.scope === '@opentelemetry/instrumentation-fetch' && s.inSession).flatMap((s) => s.events)).to.include('fetchStart');
    // The click span starts outside the listener's context, so never in its session (docs/session-context.md).
    expect(instrumented.filter((s) => s.scope === '@opentelemetry/instrumentation-user-interaction').map((s) => s.inSession)).to.deep.equal([false]);
    expect(new Set(instrumented.map((s) => s.scope))).to.deep.equal(
      new Set([
        '@opentelemetry/instrumentation-xml-http-request',
        '@opentelemetry/instrumentation-fetch',
        '@opentelemetry/instrumentation-document-load',
        '@opentelemetry/instrumentation-user-interaction',
      ]),
    );
    expect(stats.cifSpans).to.be.greaterThan(1);

    const identity = { conversationId: 'conv-web', providerSessionId: 'CA-web' };
    expect(calls).to.deep.equal([
      {
        data: { ...identity, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: '2026-11-25T10:15:30.000Z' }] },
        eventName: 'CallAccepted',
        correlationId: traceIdToGuid(traceId),
      },
      {
        data: { ...identity, events: [{ kpiEventName: 'CallHold', kpiEventReason: 'customer request', eventTimestamp: '2026-11-25T10:15:31.000Z' }] },
        eventName: 'CallHold',
        correlationId: traceIdToGuid(traceId),
      },
    ]);
    // The requests the page makes to fail log errors of their own to the console: uncaught exceptions alone count.
    expect(errors.filter((error) => error.startsWith('pageerror:'))).to.deep.equal([]);
  });
});
