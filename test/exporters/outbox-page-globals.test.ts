// The outbox as the exporters use it, against page globals a widget's page really has: a
// JSON.parse patched to revive dates (json.date-extensions' JSON.useDateParser()), and a
// crypto.randomUUID or crypto.getRandomValues of the page's own. Pages share a MemoryStore and a lock manager
// (test/helpers/web-storage.ts); spans go through the real trace SDK.
import type { Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { diag } from '@opentelemetry/api';
import { expect } from 'chai';
import { CifSpanExporter, type CifSpanExporterOptions } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureLevels } from '../helpers/diag.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { useFakeClock } from '../helpers/pipelines.js';
import { IDENTITY } from '../helpers/spans.js';
import { createLockManager, MemoryStore, type LockClient } from '../helpers/web-storage.js';

/** A `ready` that never resolves: CIF still starting on that page. */
const starting = () => new Promise<void>(() => {});

describe('the outbox of the exporters against a page JSON.parse that revives dates', () => {
  const fake = useFakeClock();
  let store: MemoryStore;
  let manager: ReturnType<typeof createLockManager>;

  beforeEach(() => {
    store = new MemoryStore();
    manager = createLockManager();
  });

  interface Page {
    exporter: CifSpanExporter;
    tracer: Tracer;
    locks: LockClient;
    record(...names: string[]): void;
  }

  function page(options: CifSpanExporterOptions, locks: LockClient = manager.client()): Page {
    const exporter = withPageGlobals({ navigator: { locks: locks.locks } }, () => new CifSpanExporter({ outbox: { store, name: 'widget' }, ...options }));
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    fake.closeables.push(provider, exporter);
    const tracer = provider.getTracer('softphone');
    return {
      exporter,
      tracer,
      locks,
      record(...names) {
        for (const name of names) {
          const span = tracer.startSpan('call', { attributes: IDENTITY });
          span.addEvent(name);
          span.end();
        }
      },
    };
  }

  function crash(p: Page): void {
    fake.closeables.splice(fake.closeables.indexOf(p.exporter), 1);
    p.locks.crash();
  }

  const settle = () => fake.clock.tickAsync(0);

  // docs/page-lifecycle.md, "When it is sent": the next page sends what a page left "with the
  // original payloads (the event's own `eventTimestamp`, the original `correlationId`)". json.date-extensions' `JSON.useDateParser()` replaces
  // `JSON.parse` with one that turns every ISO date string into a `Date`, and the outbox reads its
  // entries with the page's `JSON.parse` (src/delivery/outbox-store.ts `decode`).
  it('replays a stored call with its original eventTimestamp string where the page patched JSON.parse to revive ISO dates', async () => {
    const first = page({ client: new RecordingCifClient(), ready: starting() });
    await settle();
    first.record('Left');
    await settle();
    expect(Object.keys(store.contents())).to.have.length(1);
    crash(first);

    const parse = JSON.parse;
    const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
    // JSON.useDateParser() of json.date-extensions, in short.
    JSON.parse = ((text: string, reviver?: (key: string, value: unknown) => unknown) =>
      parse(text, (key, value: unknown) => {
        const revived = typeof value === 'string' && iso.test(value) ? new Date(value) : value;
        return reviver ? reviver.call(undefined, key, revived) : revived;
      })) as typeof JSON.parse;
    const host = new RecordingCifClient();
    let second: Page;
    try {
      second = page({ client: host });
      await settle();
    } finally {
      JSON.parse = parse;
    }
    expect(host.calls).to.have.length(1);
    const data = host.calls[0]!.data as { events: Array<{ eventTimestamp: unknown }> };
    expectBalanced(second!.exporter.getStats());
    expect(data.events[0]!.eventTimestamp, 'eventTimestamp sent as stored').to.equal(new Date(Date.now()).toISOString());
  });
});

describe('the outbox page id against a page crypto.randomUUID', () => {
  const fake = useFakeClock();
  let store: MemoryStore;
  let manager: ReturnType<typeof createLockManager>;
  const { randomUUID } = crypto;

  beforeEach(() => {
    store = new MemoryStore();
    manager = createLockManager();
  });
  afterEach(() => Reflect.deleteProperty(crypto, 'randomUUID'));

  /** Makes the page's `crypto.randomUUID` `replacement` (an own property over the prototype's). */
  const pageRandomUUID = (replacement: () => string) => Object.defineProperty(crypto, 'randomUUID', { value: replacement, configurable: true, writable: true });

  function exporterOf(locks: LockClient, options: CifSpanExporterOptions): CifSpanExporter {
    const exporter = withPageGlobals({ navigator: { locks: locks.locks } }, () => new CifSpanExporter({ outbox: { store, name: 'widget' }, ...options }));
    fake.closeables.push(exporter);
    return exporter;
  }

  // The page id is a v4 UUID of uuid's own bytes and format, never the page's crypto.randomUUID:
  // one that throws (a hardened page, a broken polyfill) would throw out of the constructor, which
  // throws only a TypeError for an invalid option; one that answers in capitals, as Dynamics 365
  // writes GUIDs, would key calls no later page reads back (PAGE_AND_SEQ is lower case).
  it("keeps calls in the outbox where the page's crypto.randomUUID throws", async () => {
    pageRandomUUID(() => {
      throw new Error('randomUUID is not allowed here');
    });
    const exporter = exporterOf(manager.client(), { client: new RecordingCifClient(), ready: starting() });
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    await fake.clock.tickAsync(0);
    const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
    span.addEvent('Left');
    span.end();
    await fake.clock.tickAsync(0);
    expect(Object.keys(store.contents())).to.have.length(1);
    expect(exporter.getStats().outbox.stored).to.equal(1);
  });

  it("constructs an exporter without an outbox, saying why at DEBUG, where the page's crypto.getRandomValues throws", () => {
    const lines = captureLevels();
    Object.defineProperty(crypto, 'getRandomValues', {
      value: () => {
        throw new Error('no entropy');
      },
      configurable: true,
    });
    let exporter: CifSpanExporter | undefined;
    try {
      expect(() => (exporter = exporterOf(manager.client(), { client: new RecordingCifClient() }))).not.to.throw();
    } finally {
      Reflect.deleteProperty(crypto, 'getRandomValues');
      diag.disable();
    }
    expect(exporter!.getStats().outbox).to.include({ stored: 0 });
    expect(lines).to.deep.equal(['debug no outbox: no page id Error: no entropy']);
  });

  it("has the next page send what a page left whose crypto.randomUUID gives GUIDs in capitals", async () => {
    pageRandomUUID(() => randomUUID.call(crypto).toUpperCase());
    const firstLocks = manager.client();
    const first = exporterOf(firstLocks, { client: new RecordingCifClient(), ready: starting() });
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(first)] });
    await fake.clock.tickAsync(0);
    const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
    span.addEvent('Left');
    span.end();
    await fake.clock.tickAsync(0);
    expect(Object.keys(store.contents())).to.have.length(1);
    fake.closeables.splice(fake.closeables.indexOf(first), 1);
    firstLocks.crash();

    const host = new RecordingCifClient();
    const second = exporterOf(manager.client(), { client: host });
    await fake.clock.tickAsync(0);
    expect(host.calls.map((c) => c.eventName), 'calls the next page sent').to.deep.equal(['Left']);
    expectBalanced(second.getStats());
  });
});
