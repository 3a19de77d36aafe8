// The outbox reads stored calls (src/delivery/outbox-store.ts `decode`) with JSON.parse as the
// library loaded, where a page library later makes it revive dates (json.date-extensions'
// JSON.useDateParser()). Pages share a
// MemoryStore and a lock manager (test/helpers/web-storage.ts); spans go through the real trace SDK.
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { ATTR_CIF_KPI_REASON, CifSpanExporter, type CifSpanExporterOptions } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { useFakeClock } from '../helpers/pipelines.js';
import { IDENTITY } from '../helpers/spans.js';
import { createLockManager, MemoryStore, type LockClient } from '../helpers/web-storage.js';

/** json.date-extensions' date parser, in short: ISO dates (any offset, fraction optional) and ASP.NET AJAX `/Date(ms)/` strings become `Date`s. */
const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2}(?:\.{0,1}\d*))(?:Z|(\+|-)([\d|:]*))?$/;
const MS_AJAX = /^\/Date\((d|-|.*)\)[/|\\]$/;
function dateParser(_key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (ISO.test(value)) return new Date(value);
  const ajax = MS_AJAX.exec(value);
  if (ajax) {
    const [ms, negative] = ajax[1]!.split(/[-+,.]/);
    return new Date(ms ? +ms : 0 - +negative!);
  }
  return value;
}

describe('the outbox read back under a page JSON.parse that revives dates', () => {
  const fake = useFakeClock();
  let store: MemoryStore;
  let manager: ReturnType<typeof createLockManager>;

  beforeEach(() => {
    store = new MemoryStore();
    manager = createLockManager();
  });

  function exporterOf(locks: LockClient, options: CifSpanExporterOptions): CifSpanExporter {
    const exporter = withPageGlobals({ navigator: { locks: locks.locks } }, () => new CifSpanExporter({ outbox: { store, name: 'widget' }, ...options }));
    fake.closeables.push(exporter);
    return exporter;
  }

  // A widget's own strings that look like dates: a KPI event's reason is free text, and a custom
  // column may hold a date as the widget wrote it (a local time with its offset, the ASP.NET AJAX
  // form older Dynamics endpoints answer with). The first page stores the call, unsent; the next
  // page, whose JSON.parse revives dates, must send it as it was stored ("with the original
  // payloads", docs/page-lifecycle.md): neither a Date nor a string in another form.
  const strings: Array<[what: string, reason: string]> = [
    ['a local time with its offset', '2026-11-25T10:15:30+01:00'],
    ['a time without milliseconds', '2026-11-25T10:15:30Z'],
    ['an ASP.NET AJAX date', '/Date(1764065730123)/'],
    ['a string shaped as an ISO date that is none', '2026-13-45T10:15:30Z'],
  ];
  strings.forEach(([what, reason]) =>
    it(`has the next page send a stored kpiEventReason that is ${what} as it was stored`, async () => {
      const firstLocks = manager.client();
      const first = exporterOf(firstLocks, { client: new RecordingCifClient(), ready: new Promise<void>(() => {}) });
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(first)] });
      fake.closeables.push(provider);
      await fake.clock.tickAsync(0);
      const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
      span.addEvent('CallRejected', { [ATTR_CIF_KPI_REASON]: reason });
      span.end();
      await fake.clock.tickAsync(0);
      expect(Object.keys(store.contents())).to.have.length(1);
      fake.closeables.splice(fake.closeables.indexOf(first), 1);
      firstLocks.crash();

      const parse = JSON.parse;
      JSON.parse = ((text: string, reviver?: (key: string, value: unknown) => unknown) =>
        parse(text, (key, value: unknown) => {
          const revived = dateParser(key, value);
          return reviver ? reviver.call(undefined, key, revived) : revived;
        })) as typeof JSON.parse;
      const host = new RecordingCifClient();
      let second: CifSpanExporter;
      try {
        second = exporterOf(manager.client(), { client: host });
        await fake.clock.tickAsync(0);
      } finally {
        JSON.parse = parse;
      }
      expectBalanced(second!.getStats());
      const events = host.calls.flatMap((call) => (call.data as { events: Array<{ kpiEventName: string; kpiEventReason?: unknown }> }).events);
      expect(events.map((event) => [event.kpiEventName, event.kpiEventReason])).to.deep.equal([['CallRejected', reason]]);
    }),
  );
});
