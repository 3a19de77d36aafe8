import { strictEqual } from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../test/browser/chromium.js';
import { servePage } from '../test/browser/serve.js';
import type { PageResults } from './browser-page.js';
import type { FloorSending } from './floor.js';
import { median, medianRatio, type Rounds } from './harness.js';
import { ms, thousands, times, type Section } from './report.js';
import { BATCH_SIZE, KPI_EVENTS_PER_SPAN } from './workload.js';

/**
 * V8's flags in the page as in the Node steps (`run.ts`): `gc` for the harness, which empties the
 * young generation before each sample, and a young generation of 64 MB.
 */
const V8_FLAGS = '--js-flags=--expose-gc --max-semi-space-size=64';

/**
 * The outbox in headless Chromium, with default options, over the page's real `localStorage` and
 * Web Locks: the cost of storing and removing each call beside the in-memory stand-in's, and an
 * export's first and longest slices with the outbox on against `outbox: false`, and the first of
 * one group's. The library is bundled from `src/` for the browser as test/browser bundles it
 * (esbuild, IIFE, es2020).
 */
export async function measureBrowserOutbox(floor: FloorSending, rounds: Rounds): Promise<Section> {
  const served = await servePage(
    { 'index.html': '<!doctype html><meta charset="utf-8"><script src="browser-page.js"></script>' },
    { entryPoints: [fileURLToPath(new URL('./browser-page.ts', import.meta.url))], bundle: true, format: 'iife', platform: 'browser', target: 'es2020' },
    false,
  );
  const browser = await launchChromium([V8_FLAGS]);
  try {
    const { page, errors } = await browser.newPage();
    await page.goto(served.url);
    const session = await browser.context.newCDPSession(page);
    const { product } = (await session.send('Browser.getVersion')) as { product: string };
    const results = (await page.evaluate(
      ([proven, r]) => (window as unknown as { benchOutbox: { run(floor: typeof proven, rounds: Rounds): Promise<PageResults> } }).benchOutbox.run(proven, r),
      [{ count: floor.count, payloads: floor.payloads, concurrency: floor.concurrency }, rounds] as const,
    )) as PageResults;
    strictEqual(errors.join('\n'), '', 'the bench page logged errors');
    strictEqual(results.perCall.localStorage.storedBytes, results.perCall.standIn.storedBytes, 'a call took other bytes in localStorage than in the stand-in');
    // The product as the browser names itself (`HeadlessChrome/…` or `Chrome/…`): its version is Chromium's.
    return section(`headless Chromium ${product.split('/')[1]}`, results, floor.concurrency);
  } finally {
    await browser.close();
    await served.stop();
  }
}

function section(browser: string, results: PageResults, concurrency: number): Section {
  const kpiEvents = BATCH_SIZE * KPI_EVENTS_PER_SPAN;
  const { perCall, firstSlices, longestSlices, groupSlices, storedPerExport, timerStepMs, whole } = results;
  const perEvent = (rounds: number[]) => `${ms(median(rounds))}, ${((median(rounds) * 1000) / kpiEvents).toFixed(2)} µs per KPI event`;
  const otlpOverOn = medianRatio(whole.otlp, whole.outboxOn);
  const otlpOverOff = medianRatio(whole.otlp, whole.outboxOff);
  const span = ([fewest, most]: [number, number]) => `${thousands(fewest)}${most > fewest ? ` to ${thousands(most)}` : ''}`;
  const perCallText = ({ microseconds }: { microseconds: number }) => `${microseconds.toFixed(2)} µs per call`;
  const storageOverStandIn = medianRatio(perCall.localStorage.medians, perCall.standIn.medians);
  const onOverOff = medianRatio(firstSlices.outboxOn, firstSlices.outboxOff);
  const longestOnOverOff = medianRatio(longestSlices.outboxOn, longestSlices.outboxOff);
  const groupOnOverOff = medianRatio(groupSlices.outboxOn, groupSlices.outboxOff);
  const group = `export() of ${KPI_EVENTS_PER_SPAN * Math.ceil(concurrency / KPI_EVENTS_PER_SPAN)} KPI events (one group)`;
  const ratio = (value: number) => `${times(value)} (median of the rounds' ratios)`;
  return {
    id: 'browserOutbox',
    title: `The outbox in Chromium: ${thousands(kpiEvents)} calls stored in localStorage, and an export's slices`,
    claim:
      "In headless Chromium, with default options, over the page's own `localStorage` and Web Locks: storing and removing each call of the batch, one call at a time, against the same over the Node row's in-memory stand-in in the same page; and the first and the longest slice of one export of the batch with the outbox on, against `outbox: false`, and the first slice of an export of one `maxConcurrentCalls` group, whose calls all go to the host in that slice; the host copying each payload and answering one call per task as in the slices table.",
    header: ['contender', `median, ${browser}`],
    rows: [
      ['outbox over localStorage: storing and removing each call', perCallText(perCall.localStorage)],
      ['outbox over the in-memory stand-in: the same', perCallText(perCall.standIn)],
      ['localStorage / stand-in', ratio(storageOverStandIn)],
      ['export(), outbox on: first slice', ms(median(firstSlices.outboxOn))],
      ['export(), outbox: false: first slice', ms(median(firstSlices.outboxOff))],
      ['outbox on / outbox: false, first slice', ratio(onOverOff)],
      ['export(), outbox on: longest slice', ms(median(longestSlices.outboxOn))],
      ['export(), outbox: false: longest slice', ms(median(longestSlices.outboxOff))],
      ['outbox on / outbox: false, longest slice', ratio(longestOnOverOff)],
      ['KPI events of one export the outbox stored', `${span(storedPerExport.stored)}, and found no room for ${span(storedPerExport.full)} (\`notStored.full\`), of ${thousands(kpiEvents)}; the others went to the host in the task that admitted them, the ${concurrency} of the first slice among them`],
      [`${group}, outbox on: first slice`, ms(median(groupSlices.outboxOn))],
      [`${group}, outbox: false: first slice`, ms(median(groupSlices.outboxOff))],
      ['outbox on / outbox: false, first slice of one group', ratio(groupOnOverOff)],
      ["export() to its callback, default options (outbox on), host copying each payload and answering at once", perEvent(whole.outboxOn)],
      ['the same, outbox: false', perEvent(whole.outboxOff)],
      ['OTLP JsonTraceSerializer.serializeRequest of the same spans, in this page', perEvent(whole.otlp)],
      ['OTLP / export(), default options', ratio(otlpOverOn)],
      ['OTLP / export(), outbox: false', ratio(otlpOverOff)],
      ['KPI events of one export to its callback, default options, the outbox stored, on average', `${whole.storedPerExport.toFixed(1)} of ${thousands(kpiEvents)}: the others went to the host in the task that admitted them`],
    ],
    notes: [
      `A first slice is timed from the call of \`export()\` until a task queued just before the call runs (\`scheduler.postTask\`, as the exporter's next part, which runs after it): the export's own task; each later slice from a host answer until a task queued behind it runs, so it holds the export's tasks that ran meanwhile. \`performance.now()\` in this page moved in steps of ${(timerStepMs * 1000).toFixed(0)} µs at the least.`,
      `One group: every call goes to the host in the first slice, so the outbox writes none (checked); a sample is the mean first slice of ${groupSlices.exports} exports, each answered before the next: an export of one group after another, its work in the processor's caches, so these rows are held against each other only. The slices table holds the whole batch's first slice against one group's like for like.`,
      `Per call: the time to store and remove the batch's calls over its ${thousands(kpiEvents)} calls. A call took as many bytes in \`localStorage\` as in the stand-in (checked).`,
      "Each pair is timed in rounds of its own, the young generation emptied before each sample, with V8's flags of the Node steps.",
    ],
    values: {
      browser,
      localStorageMicroseconds: perCall.localStorage.microseconds,
      standInMicroseconds: perCall.standIn.microseconds,
      localStorageOverStandIn: storageOverStandIn,
      storedBytes: perCall.localStorage.storedBytes,
      outboxOnFirstSliceMs: median(firstSlices.outboxOn),
      outboxOffFirstSliceMs: median(firstSlices.outboxOff),
      outboxOnOverOff: onOverOff,
      outboxOnLongestSliceMs: median(longestSlices.outboxOn),
      outboxOffLongestSliceMs: median(longestSlices.outboxOff),
      outboxOnOverOffLongest: longestOnOverOff,
      groupOutboxOnFirstSliceMs: median(groupSlices.outboxOn),
      groupOutboxOffFirstSliceMs: median(groupSlices.outboxOff),
      groupOutboxOnOverOff: groupOnOverOff,
      storedPerExport,
      timerStepMs,
      wholeOutboxOnMs: median(whole.outboxOn),
      wholeOutboxOffMs: median(whole.outboxOff),
      wholeStoredPerExport: whole.storedPerExport,
      wholeOtlpMs: median(whole.otlp),
      otlpOverExportDefault: otlpOverOn,
      otlpOverExportOutboxOff: otlpOverOff,
    },
  };
}
