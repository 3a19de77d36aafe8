import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import type { CifAnalyticsData } from '../../src/index.js';
import type { RecordedCifCall } from '../../src/testing/index.js';
import type { CifHost } from '../../examples/widget/host.js';
import { startDemo, type DemoServer } from '../../scripts/demo.js';
import { launchChromium, type Browser } from './chromium.js';

/** The narrowest window the demo is made for. */
const NARROW = { width: 360, height: 800 };
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_MILLIS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function hostCalls(page: Page): Promise<RecordedCifCall[]> {
  return page.evaluate(() => (window as unknown as { cifHost: CifHost }).cifHost.calls);
}

async function waitForCalls(page: Page, count: number): Promise<RecordedCifCall[]> {
  await page.waitForFunction(
    (n) => (window as unknown as { cifHost: CifHost }).cifHost.calls.length >= n,
    count,
    { timeout: 15_000 },
  );
  return hostCalls(page);
}

/** The ids the widget shows; its trace id is shown as the host shows correlationId. */
async function identity(page: Page) {
  const correlationId = await page.locator('#trace-id').innerText();
  expect(correlationId).to.match(GUID);
  return {
    conversationId: await page.locator('#conversation-id').innerText(),
    providerSessionId: await page.locator('#provider-session-id').innerText(),
    correlationId,
  };
}

/** Elements wider than the window, or panels too narrow to read: none at 360 px. */
async function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate((width) => {
    const problems: string[] = [];
    if (document.documentElement.scrollWidth > width) problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px`);
    for (const panel of document.querySelectorAll<HTMLElement>('.panel')) {
      if (panel.getBoundingClientRect().width < width - 40) problems.push(`${panel.className} is ${panel.getBoundingClientRect().width} px wide`);
      if (panel.scrollWidth > panel.clientWidth) problems.push(`${panel.className} scrolls sideways`);
    }
    return problems;
  }, NARROW.width);
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

  it('at 360 px, holds every KPI event of an accepted call until CIFInitDone, then sends them with the trace id as correlationId', async () => {
    const { page, errors } = await browser.newPage();
    await page.setViewportSize(NARROW);
    // The host loads the CIF library only when the test says, after the whole call.
    await page.goto(`${demo.url}?cifLoadDelay=never`);
    // Ring before the host has loaded the CIF library: every call must wait for CIFInitDone.
    await page.click('#ring');
    expect(await page.locator('#cif-status').innerText()).to.match(/loading/);
    await page.click('#accept');
    await page.click('#hold');
    await page.click('#hold');
    await page.click('#transfer');
    await page.click('#end');
    // The widget shows what its exporter holds while it waits.
    await page.locator('#exporter-state', { hasText: 'waiting for CIFInitDone: 6 calls held' }).waitFor({ timeout: 5_000 });
    expect(await page.locator('#cif-status').innerText(), 'the host loaded CIF before the call ended').to.match(/loading/);
    expect(await hostCalls(page)).to.deep.equal([]);
    const id = await identity(page);
    await page.evaluate(() => (window as unknown as { cifHost: CifHost }).cifHost.load());
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
    await page.locator('#exporter-state', { hasText: '6 KPI events delivered' }).waitFor({ timeout: 5_000 });
    expect(await layoutProblems(page)).to.deep.equal([]);
    expect(errors).to.deep.equal([]);
  });

  it('sends a rejected notification as its own conversation and trace', async () => {
    const { page, errors } = await browser.newPage();
    await page.setViewportSize(NARROW);
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

  it("lists the widget's CIF calls as spans of the call's trace, beside its KPI calls, and no span for the exporter's calls", async () => {
    const { page, errors } = await browser.newPage();
    await page.setViewportSize(NARROW);
    await page.goto(`${demo.url}?cifLoadDelay=0`);
    await page.locator('#presence', { hasText: 'Available' }).waitFor();
    await page.click('#ring');
    await page.click('#accept');
    await page.locator('#presence', { hasText: 'Busy' }).waitFor();
    await page.click('#end');
    await page.locator('#presence', { hasText: 'Available' }).waitFor();
    const id = await identity(page);
    const calls = await waitForCalls(page, 3);
    expect(calls.map((call) => [call.eventName, call.correlationId])).to.deep.equal([
      ['CallOffered', id.correlationId],
      ['CallAccepted', id.correlationId],
      ['CallEnded', id.correlationId],
    ]);
    await page.waitForFunction(() => (window as unknown as { widgetSpans: unknown[] }).widgetSpans.length >= 7);
    type Shown = { name: string; kind: string; parent?: string; traceId: string };
    const spans = await page.evaluate(() => (window as unknown as { widgetSpans: Shown[] }).widgetSpans);
    const callTrace = id.correlationId.replace(/-/g, '');
    const startTrace = spans[0]!.traceId;
    expect(startTrace).not.to.equal(callTrace);
    expect(spans).to.deep.equal([
      { name: 'Microsoft.CIFramework/getPresence', kind: 'CLIENT', parent: undefined, traceId: startTrace },
      { name: 'CallOffered', kind: 'INTERNAL', parent: 'inbound call', traceId: callTrace },
      { name: 'CallAccepted', kind: 'INTERNAL', parent: 'inbound call', traceId: callTrace },
      { name: 'Microsoft.CIFramework/setPresence', kind: 'CLIENT', parent: 'inbound call', traceId: callTrace },
      { name: 'CallEnded', kind: 'INTERNAL', parent: 'inbound call', traceId: callTrace },
      { name: 'inbound call', kind: 'INTERNAL', parent: undefined, traceId: callTrace },
      { name: 'Microsoft.CIFramework/setPresence', kind: 'CLIENT', parent: 'inbound call', traceId: callTrace },
    ]);
    expect(await page.locator('#cif-spans li').allInnerTexts()).to.deep.equal([
      'Microsoft.CIFramework/getPresence (CLIENT)',
      'Microsoft.CIFramework/setPresence (CLIENT, in inbound call)',
      'Microsoft.CIFramework/setPresence (CLIENT, in inbound call)',
    ]);
    expect(await layoutProblems(page)).to.deep.equal([]);
    expect(errors).to.deep.equal([]);
  });

  it('on a busy port, `npm run demo` says how to pick another one instead of printing a stack trace', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as { port: number };
    try {
      const demoScript = fileURLToPath(new URL('../../scripts/demo.ts', import.meta.url));
      const failure = await promisify(execFile)(process.execPath, ['--import', 'tsx', demoScript], {
        env: { ...process.env, PORT: String(port) },
      }).then(
        () => undefined,
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      expect(failure, 'the demo started on a busy port').not.to.equal(undefined);
      expect({ code: failure!.code, stdout: failure!.stdout, stderr: failure!.stderr }).to.deep.equal({
        code: 1,
        stdout: '',
        stderr: `Port ${port} is already in use. Pick another one: PORT=${port + 1} npm run demo\n`,
      });
    } finally {
      busy.close();
    }
  });
});
