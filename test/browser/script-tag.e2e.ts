import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { SCRIPT_TAG_BUNDLE, buildScriptTagBundle } from '../../scripts/build-browser.js';
import { launchChromium, type Browser } from './chromium.js';
import { servePage, type ServedPage } from './serve.js';

describe('the script-tag bundle in a plain HTML page', function () {
  this.timeout(60_000);
  let browser: Browser;
  let served: ServedPage;

  before(async () => {
    await buildScriptTagBundle();
    served = await servePage({
      [basename(SCRIPT_TAG_BUNDLE)]: readFileSync(SCRIPT_TAG_BUNDLE),
      'index.html': readFileSync(new URL('./fixtures/script-tag.html', import.meta.url)),
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('exports the page spans to Microsoft.CIFramework.logAnalyticsEvent', async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(served.url);
    await page.locator('#status', { hasText: 'done' }).waitFor();
    const { calls, traceId } = await page.evaluate(() => ({
      calls: (window as unknown as { cifCalls: unknown[] }).cifCalls,
      traceId: (window as unknown as { traceId: string }).traceId,
    }));
    expect(traceId).to.equal('4bf92f3577b34da6a3ce929d0e0e4736');
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
    ]);
    expect(errors).to.deep.equal([]);
  });
});
