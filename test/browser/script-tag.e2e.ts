import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { CifAnalyticsData, CifExporterStats } from '../../src/index.js';
import { SCRIPT_TAG_BUNDLES, buildScriptTagBundles } from '../../scripts/build-browser.js';
import { documentedBlocks } from '../../scripts/code-blocks.mjs';
import { BROWSERS, type TestBrowser } from './browsers.js';
import { servePage, type ServedPage } from './serve.js';

for (const [browserName, launch] of BROWSERS) describe(`the script-tag bundles in a plain HTML page, in ${browserName}`, function () {
  this.timeout(60_000);
  let browser: TestBrowser;
  let served: ServedPage;
  /** The HTML blocks of the docs marked `<!-- check: script-tag -->`, each run as a page of its own. */
  const documented = documentedBlocks().filter((block) => block.marker.join(' ') === 'script-tag');

  before(async () => {
    await buildScriptTagBundles();
    const bundles = Object.values(SCRIPT_TAG_BUNDLES).map(({ file }) => [basename(file), readFileSync(file)]);
    served = await servePage({
      ...Object.fromEntries(bundles),
      'index.html': readFileSync(new URL('./fixtures/script-tag.html', import.meta.url)),
      ...Object.fromEntries(documented.map((block, i) => [`documented-${i}.html`, block.code])),
    });
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('exports the page spans to the stand-in Microsoft.CIFramework, and a session only to spans started before an await', async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(served.url);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.includes('done'));
    const { calls, traceId, sessionTraceId, stats } = await page.evaluate(() => {
      const page = window as unknown as { cifCalls: unknown[]; traceId: string; sessionTraceId: string; stats: CifExporterStats };
      return { calls: page.cifCalls, traceId: page.traceId, sessionTraceId: page.sessionTraceId, stats: page.stats };
    });
    expect([traceId, sessionTraceId]).to.deep.equal(['4bf92f3577b34da6a3ce929d0e0e4736', '0af7651916cd43dd8448eb211c80319c']);
    const correlationId = '4bf92f35-77b3-4da6-a3ce-929d0e0e4736';
    const identity = { conversationId: 'conv-42', providerSessionId: 'CA42' };
    expect(calls).to.deep.equal([
      {
        data: {
          ...identity,
          events: [
            { kpiEventName: 'CallAccepted', eventTimestamp: '2026-11-25T10:15:30.123Z', notificationResponseAction: 'accepted' },
          ],
        },
        eventName: 'CallAccepted',
        correlationId,
      },
      {
        data: {
          ...identity,
          events: [{ kpiEventName: 'CallEnded', eventTimestamp: '2026-11-25T10:19:00.000Z', kpiEventReason: 'customer hung up' }],
        },
        eventName: 'CallEnded',
        correlationId,
      },
      {
        data: {
          conversationId: 'conv-43',
          providerSessionId: 'CA43',
          events: [{ kpiEventName: 'CallHold', eventTimestamp: '2026-11-25T10:20:00.000Z' }],
        },
        eventName: 'CallHold',
        correlationId: '0af76519-16cd-43dd-8448-eb211c80319c',
      },
    ]);
    // The span started after the await had no session, so no ids: counted, not sent.
    expect(stats.dropped.missing_identity).to.equal(1);
    expect(errors).to.deep.equal([]);
  });

  it('runs the script-tag example of docs/browser.md as written, and its client.calls holds its call', async () => {
    expect(documented.map((block) => block.file)).to.deep.equal(['docs/browser.md']);
    const { page, errors, warnings } = await browser.newPage();
    await page.goto(`${served.url}documented-0.html`);
    // The page's own globals: the example's `const provider` and `const { client }`.
    type Call = { data: CifAnalyticsData; eventName: string; correlationId: string };
    const calls = (await page.evaluate('provider.forceFlush().then(() => client.calls)')) as Call[];
    // The trace id and the time are the page's own: checked for form, then expected as they came.
    const correlationId = calls[0]?.correlationId;
    const eventTimestamp = calls[0]?.data.events[0]?.eventTimestamp;
    expect(correlationId).to.match(/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/);
    expect(eventTimestamp).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(calls).to.deep.equal([
      {
        data: {
          conversationId: 'conv-42',
          providerSessionId: 'CA42',
          events: [{ kpiEventName: 'CallAccepted', eventTimestamp, notificationResponseAction: 'accepted' }],
        },
        eventName: 'CallAccepted',
        correlationId,
      },
    ]);
    expect({ errors, warnings }).to.deep.equal({ errors: [], warnings: [] });
  });

  it('defines the globals docs/browser.md lists: the main entry with the OpenTelemetry pieces a page needs, and the stand-in host', async () => {
    const { page } = await browser.newPage();
    await page.goto(served.url);
    const globals = (await page.evaluate(
      '({ main: Object.keys(OpenTelemetryCif).sort(), testing: Object.keys(OpenTelemetryCifTesting).sort() })',
    )) as { main: string[]; testing: string[] };
    const opentelemetry = ['trace', 'context', 'diag', 'DiagConsoleLogger', 'DiagLogLevel', 'WebTracerProvider', 'BatchSpanProcessor', 'SimpleSpanProcessor', 'StackContextManager', 'resourceFromAttributes'];
    expect(globals).to.deep.equal({
      main: [...Object.keys(await import('../../src/index.js')), ...opentelemetry].sort(),
      testing: ['RecordingCifClient', 'formatCifCall', 'installFakeCIFramework'].sort(),
    });
  });
});
