import { expect } from 'chai';
import { context as esbuildContext, type BuildContext } from 'esbuild';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { traceIdToGuid } from '../../src/index.js';
import { SCRIPT_TAG_BUNDLE, buildScriptTagBundle } from '../../scripts/build-browser.js';
import { launchChromium, type Browser } from './chromium.js';

describe('the script-tag bundle in a plain HTML page', function () {
  this.timeout(60_000);
  let browser: Browser;
  let server: BuildContext;
  let root: string;
  let url: string;

  before(async () => {
    await buildScriptTagBundle();
    root = mkdtempSync(join(tmpdir(), 'cif-plain-page-'));
    copyFileSync(SCRIPT_TAG_BUNDLE, join(root, basename(SCRIPT_TAG_BUNDLE)));
    copyFileSync(fileURLToPath(new URL('./fixtures/script-tag.html', import.meta.url)), join(root, 'index.html'));
    server = await esbuildContext({ logLevel: 'silent' });
    const { port } = await server.serve({ servedir: root, host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${port}/`;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.dispose();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('exports the page spans to Microsoft.CIFramework.logAnalyticsEvent', async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(url);
    await page.locator('#status', { hasText: 'done' }).waitFor();
    const { calls, traceId } = await page.evaluate(() => ({
      calls: (window as unknown as { cifCalls: unknown[] }).cifCalls,
      traceId: (window as unknown as { traceId: string }).traceId,
    }));
    const correlationId = traceIdToGuid(traceId);
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
