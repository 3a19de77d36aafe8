// A page's CIF library that fails every call until a CIFInitDone that comes past readyTimeoutMillis:
// the outbox keeps those calls, and they go again once the event comes (docs/delivery.md, Readiness).
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { DELIVERY_DEFAULTS } from '../../src/delivery/options.js';
import { CifSpanExporter, type CifSpanExporterOptions } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { expectBalanced, installCifWithoutInitDone, pageWindow, removePageCif } from '../helpers/fake-client.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { useFakeClock } from '../helpers/pipelines.js';
import { IDENTITY } from '../helpers/spans.js';
import { createLockManager, MemoryStore } from '../helpers/web-storage.js';

describe('a page CIF library that fails every call until a CIFInitDone past readyTimeoutMillis, with the outbox', () => {
  const time = useFakeClock(removePageCif);
  let win: ReturnType<typeof pageWindow>;
  let store: MemoryStore;
  beforeEach(() => {
    win = pageWindow();
    store = new MemoryStore();
  });
  afterEach(() => win.restore());

  /** The page's library: fails every call as not initialised until `start()`, then answers with `answer`. */
  function startingLibrary(answer: () => string | Promise<string>) {
    let started = false;
    const library = new RecordingCifClient({ answer: () => (started ? answer() : Promise.reject(new Error('CIF is not initialised yet'))) });
    installCifWithoutInitDone(library);
    return {
      library,
      start() {
        started = true;
        win.fire('CIFInitDone');
      },
    };
  }

  /** A widget as the README wires it, default options but the outbox's store and name, on a page with Web Locks. */
  function widget(options: CifSpanExporterOptions = {}) {
    const exporter = withPageGlobals({ navigator: { locks: createLockManager().client().locks } }, () => new CifSpanExporter({ outbox: { store, name: 'widget' }, ...options }));
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    time.closeables.push(provider, exporter);
    const tracer = provider.getTracer('softphone');
    return {
      exporter,
      record(name: string) {
        const span = tracer.startSpan('call', { attributes: IDENTITY });
        span.addEvent(name);
        span.end();
      },
    };
  }

  /** A widget that records one KPI event, whose every attempt the library fails before CIFInitDone: the outbox keeps it. */
  async function keptBeforeStart(): Promise<CifSpanExporter> {
    const { exporter, record } = widget();
    await time.clock.tickAsync(0);
    record('CallAccepted');
    await time.clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis + 5_000);
    expect(exporter.getStats()).to.deep.include({ kpiEventsKept: 1, kpiEventsPending: 0 });
    return exporter;
  }

  it('retries a kept call with backoff once CIFInitDone came, as any host failure, rather than dropping it at its first failure as host_error', async () => {
    // Started, the host fails the first call it gets (a transient "Provider not active"), then records.
    let answers = 0;
    const { start } = startingLibrary(() => (answers++ === 0 ? Promise.reject(new Error('Provider not active')) : 'ok'));
    const exporter = await keptBeforeStart();
    start();
    await time.clock.tickAsync(10_000);
    // "Once the event has fired or a call was answered, failures are the host's: they are retried with backoff."
    // The call spent its 3 attempts before CIFInitDone: it gets them back.
    expect(exporter.getStats().dropped.host_error, 'dropped.host_error').to.equal(0);
    expect(exporter.getStats()).to.deep.include({ kpiEventsDelivered: 1, kpiEventsKept: 0, kpiEventsPending: 0 });
    expectBalanced(exporter.getStats());
  });

  it('waits in forceFlush() for a kept call that went again once CIFInitDone came and is still at the host', async () => {
    let answer!: (value: string) => void;
    const { start } = startingLibrary(() => new Promise<string>((resolve) => (answer = resolve)));
    const exporter = await keptBeforeStart();
    start();
    await time.clock.tickAsync(0);
    // Taken out of the outbox and handed to the host: neither settled nor kept.
    expect(store.items.size, 'calls in the store').to.equal(0);
    expect(exporter.getStats()).to.deep.include({ kpiEventsKept: 0, kpiEventsPending: 1, callsInFlight: 1 });
    let flushed = false;
    void exporter.forceFlush().then(() => (flushed = true));
    await time.clock.tickAsync(1_000);
    // forceFlush() "resolves once every call queued or in flight has settled, or with an outbox is kept in it".
    expect(flushed, 'forceFlush() resolved while the call is at the host').to.equal(false);
    answer('ok');
    await time.clock.tickAsync(0);
    expect(flushed).to.equal(true);
    expect(exporter.getStats()).to.deep.include({ kpiEventsDelivered: 1, kpiEventsPending: 0 });
  });
});
