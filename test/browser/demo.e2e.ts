import { expect } from 'chai';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type { CifAnalyticsData } from '../../src/index.js';
import type { RecordedCifCall } from '../../src/testing/index.js';
import { startDemo, type DemoServer } from '../../scripts/demo.js';
import { launchChromium, type Browser } from './chromium.js';

const SCREENSHOT = fileURLToPath(new URL('../../docs/demo.png', import.meta.url));
const ISO_MILLIS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function hostCalls(page: Page): Promise<RecordedCifCall[]> {
  return page.evaluate(() => (window as unknown as { cifHost: { calls: RecordedCifCall[] } }).cifHost.calls);
}

async function waitForCalls(page: Page, count: number): Promise<RecordedCifCall[]> {
  await page.waitForFunction(
    (n) => (window as unknown as { cifHost: { calls: unknown[] } }).cifHost.calls.length >= n,
    count,
    { timeout: 15_000 },
  );
  return hostCalls(page);
}

async function identity(page: Page) {
  const traceId = await page.locator('#trace-id').innerText();
  expect(traceId).to.match(/^[0-9a-f]{32}$/);
  return {
    conversationId: await page.locator('#conversation-id').innerText(),
    providerSessionId: await page.locator('#provider-session-id').innerText(),
    // The demo's trace id is random: its GUID is written out here, not by the code under test.
    correlationId: traceId.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'),
  };
}

type Expected = [eventName: string, details: Record<string, string>];

function expectCalls(calls: RecordedCifCall[], id: Awaited<ReturnType<typeof identity>>, expected: Expected[]): void {
  const timestamps = calls.map((call) => (call.data as CifAnalyticsData).events[0]!.eventTimestamp);
  timestamps.forEach((timestamp) => expect(timestamp).to.match(ISO_MILLIS));
  expect([...timestamps].sort()).to.deep.equal(timestamps);
  const withoutTimestamps = calls.map((call) => {
    const data = call.data as CifAnalyticsData;
    const events = data.events.map(({ eventTimestamp: _, ...event }) => event);
    return { ...call, data: { ...data, events } };
  });
  expect(withoutTimestamps).to.deep.equal(
    expected.map(([eventName, details]) => ({
      data: {
        conversationId: id.conversationId,
        providerSessionId: id.providerSessionId,
        participantId: 'agent-042',
        events: [
          { kpiEventName: eventName, ...details, customData: [{ attribute: 'msdyn_customattribute1', value: 'billing' }] },
        ],
      },
      eventName,
      correlationId: id.correlationId,
    })),
  );
}

describe('the demo widget in Chromium', function () {
  this.timeout(60_000);
  let browser: Browser;
  let demo: DemoServer;

  before(async () => {
    demo = await startDemo();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await demo?.stop();
  });

  it('sends each KPI event of an accepted call, waiting for CIFInitDone, with the trace id as correlationId', async () => {
    const { page, errors } = await browser.newPage();
    // The host takes 4 s to load the CIF library, time enough to click through the whole call.
    await page.goto(`${demo.url}?cifLoadDelay=4000`);
    // Ring before the host has loaded the CIF library: every call must wait for CIFInitDone.
    await page.click('#ring');
    expect(await page.locator('#cif-status').innerText()).to.match(/loading/);
    await page.click('#accept');
    await page.click('#hold');
    await page.click('#hold');
    await page.click('#transfer');
    await page.click('#end');
    expect(await page.locator('#cif-status').innerText(), 'the host loaded CIF before the call ended').to.match(/loading/);
    expect(await hostCalls(page)).to.deep.equal([]);
    const id = await identity(page);
    const calls = await waitForCalls(page, 6);

    expectCalls(calls, id, [
      ['CallOffered', { kpiEventReason: 'inbound' }],
      ['CallAccepted', { notificationResponseAction: 'accepted' }],
      ['CallHold', { kpiEventReason: 'consulting supervisor' }],
      ['CallResume', {}],
      ['CallTransferred', { kpiEventReason: 'to billing tier 2', externalCorrelationId: 'TR-1042' }],
      ['CallEnded', { kpiEventReason: 'agent ended the call' }],
    ]);
    expect(await page.locator('#calls li').count()).to.equal(6);
    expect(errors).to.deep.equal([]);

    mkdirSync(new URL('../../docs/', import.meta.url), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('sends a rejected notification as its own conversation and trace', async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(demo.url);
    await page.locator('#cif-status', { hasText: 'CIFInitDone' }).waitFor();
    await page.click('#ring');
    await page.click('#reject');
    const id = await identity(page);
    const calls = await waitForCalls(page, 2);
    expectCalls(calls, id, [
      ['CallOffered', { kpiEventReason: 'inbound' }],
      ['CallRejected', { kpiEventReason: 'agent busy', notificationResponseAction: 'rejected' }],
    ]);
    expect(errors).to.deep.equal([]);
  });
});
