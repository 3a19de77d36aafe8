// The batch handed to export() and the events array of a span are hostile input: one that is
// sparse or huge costs the page what it holds, not what its length says, and costs no other KPI
// event of the batch. Only an array's own indices are items: a named property, an index it
// inherits or its constructor (a page's subclass) adds no span or span event, and takes none away.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSpanExporter } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { IDENTITY, event, makeSpan } from '../helpers/spans.js';

const T1 = '2026-11-25T10:15:30.123Z';
const T2 = '2026-11-25T10:16:00.000Z';

describe('a batch or a span events array that is sparse, huge, a subclass or has more than its items', () => {
  it('sends the KPI events a sparse events array holds, and counts no span as invalid for its holes', async () => {
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
    const events = [event('A', T1)];
    events[3] = event('B', T2);
    await new Promise((resolve) => exporter.export([makeSpan({ attributes: IDENTITY, events })], resolve));
    expect(client.payloads().flatMap((data) => data.events.map((kpiEvent) => kpiEvent.kpiEventName))).to.deep.equal(['A', 'B']);
    expect(exporter.getStats().dropped.invalid_span).to.equal(0);
  });

  it('takes no named property of an events array or a batch array for a span event or a span', async () => {
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
    const events = Object.assign([event('A', T1)], { tagged: true });
    const spans = Object.assign([makeSpan({ attributes: IDENTITY, events })], { extra: event('B', T2) });
    await new Promise((resolve) => exporter.export(spans, resolve));
    expect(client.payloads().flatMap((data) => data.events.map((kpiEvent) => kpiEvent.kpiEventName))).to.deep.equal(['A']);
    const stats = exporter.getStats();
    expect([stats.spansSeen, stats.dropped.invalid_span, stats.dropped.missing_kpi_name, stats.dropped.invalid_timestamp]).to.deep.equal([1, 0, 0, 0]);
  });

  /** An Array subclass whose constructor takes its items: a copy through the array's species would call `new SpanList(0)`, which throws. */
  class SpanList<T> extends Array<T> {
    constructor(items: T[]) {
      super(...items);
    }
  }

  /** The names of the KPI events `export()` of `spans` sends, its result code and its stats. */
  async function exported(spans: unknown) {
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
    const { code } = await new Promise<{ code: number }>((resolve) => exporter.export(spans as ReadableSpan[], resolve));
    return { code, names: client.calls.map((call) => call.eventName), stats: exporter.getStats() };
  }

  it('sends a batch and a span events array that are Array subclasses whose constructor takes the items', async () => {
    const events = Object.setPrototypeOf([event('A', T1)], SpanList.prototype) as ReadableSpan['events'];
    const batch = Object.setPrototypeOf([makeSpan({ attributes: IDENTITY, events }), makeSpan({ attributes: IDENTITY, events: [event('B', T2)] })], SpanList.prototype);
    const { code, names, stats } = await exported(batch);
    expect([code, names, stats.dropped.invalid_span]).to.deep.equal([0, ['A', 'B'], 0]);
  });

  it("sends a batch whose constructor's species makes no array", async () => {
    const batch = Object.defineProperty([makeSpan({ attributes: IDENTITY, events: [event('A', T1)] })], 'constructor', { value: { [Symbol.species]: () => ({}) } });
    const { code, names } = await exported(batch);
    expect([code, names]).to.deep.equal([0, ['A']]);
  });

  it('takes no index that an array inherits for a hole of the batch or of a span events array', async () => {
    const events = [event('B', T2)];
    events[12] = event('C', T2);
    const batch: unknown[] = [makeSpan({ attributes: IDENTITY, events: [event('A', T1)] })];
    batch[12] = makeSpan({ attributes: IDENTITY, events });
    const inherited = Array.prototype as unknown as Record<number, unknown>;
    inherited[10] = makeSpan({ attributes: IDENTITY, events: [event('INHERITED', T1)] });
    try {
      const { names, stats } = await exported(batch);
      expect([names, stats.spansSeen]).to.deep.equal([['A', 'B', 'C'], 2]);
    } finally {
      delete inherited[10];
    }
  });

  // Named as an index would be but for a sign, a fraction, a leading zero, or being 2 ** 32 - 1, past the last index.
  [0xffff, 0x10000, 2 ** 32 - 1].forEach((length) =>
    it(`takes no named property of a span events array of length ${length}`, async () => {
      const named = ['extra', '-1', '1.5', '01', String(2 ** 32 - 1)];
      const events = Object.assign([event('A', T1)], Object.fromEntries(named.map((key) => [key, event(`named ${key}`, T1)])));
      events.length = length;
      const { names, stats } = await exported([makeSpan({ attributes: IDENTITY, events })]);
      expect([names, stats.dropped.missing_kpi_name]).to.deep.equal([['A'], 0]);
    }),
  );

  // An own index that is not enumerable is an item all the same, at any length.
  [0xffff, 0x10000].forEach((length) =>
    it(`takes an own index that is not enumerable for a span event and a span, in arrays of length ${length}`, async () => {
      const hidden = <T>(item: T): T[] => {
        const items: T[] = [];
        Object.defineProperty(items, 0, { value: item, enumerable: false, writable: true, configurable: true });
        items.length = length;
        return items;
      };
      expect((await exported([makeSpan({ attributes: IDENTITY, events: hidden(event('A', T1)) })])).names).to.deep.equal(['A']);
      const { names, stats } = await exported(hidden(makeSpan({ attributes: IDENTITY, events: [event('B', T2)] })));
      expect([names, stats.spansSeen]).to.deep.equal([['B'], 1]);
    }),
  );

  /** What a Node.js process of its own, its heap at 64 MB, exports: `spans` built by `build`, the script's own code. */
  async function exportedWithin64Mb(build: string): Promise<string> {
    const script = `
      import { CifSpanExporter } from ${JSON.stringify(new URL('../../src/index.ts', import.meta.url).href)};
      import { RecordingCifClient } from ${JSON.stringify(new URL('../../src/testing/index.ts', import.meta.url).href)};
      import { IDENTITY, event, makeSpan } from ${JSON.stringify(new URL('../helpers/spans.ts', import.meta.url).href)};
      ${build}
      const client = new RecordingCifClient();
      const exporter = new CifSpanExporter({ client, outbox: false });
      await new Promise((resolve) => exporter.export(spans, resolve));
      await exporter.shutdown();
      const { kpiEventsDelivered, dropped } = exporter.getStats();
      console.log(JSON.stringify({ kpiEventsDelivered, invalid_span: dropped.invalid_span }));
    `;
    const run = promisify(execFile)(process.execPath, ['--max-old-space-size=64', '--import', 'tsx', '--input-type=module', '-e', script]);
    return run.then(
      ({ stdout }) => stdout.trim(),
      (error: { code?: unknown; signal?: unknown }) => `exited ${String(error.code)} ${String(error.signal)}`,
    );
  }

  // Each a Node.js process of its own, whose heap a copy of every hole (4 294 967 295 of them) fills, killing it: about 1 s idle.
  it('maps a span whose events array has length 2 ** 32 - 1 and two events, within 64 MB of heap, as the other spans of its batch', async function () {
    this.timeout(60_000);
    const outcome = await exportedWithin64Mb(`
      const events = [event('A', '${T1}')];
      events.length = 2 ** 32 - 1;
      events[2 ** 32 - 2] = event('B', '${T2}');
      const spans = [makeSpan({ attributes: IDENTITY, events }), makeSpan({ attributes: IDENTITY, events: [event('C', '${T1}')] })];
    `);
    expect(outcome).to.equal(JSON.stringify({ kpiEventsDelivered: 3, invalid_span: 0 }));
  });

  it('maps a batch array of length 2 ** 32 - 1 that holds two spans within 64 MB of heap', async function () {
    this.timeout(60_000);
    const outcome = await exportedWithin64Mb(`
      const spans = [makeSpan({ attributes: IDENTITY, events: [event('A', '${T1}')] })];
      spans.length = 2 ** 32 - 1;
      spans[2 ** 32 - 2] = makeSpan({ attributes: IDENTITY, events: [event('B', '${T2}')] });
    `);
    expect(outcome).to.equal(JSON.stringify({ kpiEventsDelivered: 2, invalid_span: 0 }));
  });
});
