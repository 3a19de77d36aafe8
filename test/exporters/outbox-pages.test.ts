// Pages of one widget over a shared store and lock manager (test/helpers/web-storage.ts), through
// the real trace SDK, each page an exporter whose `navigator.locks` is its own view of that manager,
// facing page globals, a lock manager and a diag logger that misbehave. Each test names the promise
// of docs/page-lifecycle.md or docs/delivery.md it holds the exporter to.
import { diag, type Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { HANDOVER_WAIT_MILLIS, type OutboxLocks } from '../../src/delivery/outbox.js';
import { ATTR_CIF_KPI_REASON, CifSpanExporter, type CifSpanExporterOptions } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureLevels, installActingDiag } from '../helpers/diag.js';
import { expectBalanced, hangs, kpiNames, later } from '../helpers/fake-client.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { useFakeClock } from '../helpers/pipelines.js';
import { IDENTITY } from '../helpers/spans.js';
import { unhandledRejectionsOf } from '../helpers/unhandled.js';
import { createLockManager, MemoryStore, type LockClient } from '../helpers/web-storage.js';

/** A `ready` that never resolves: CIF still starting on that page. */
const starting = () => new Promise<void>(() => {});

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

/** Runs `run` with the page's `JSON.parse` reviving dates, as json.date-extensions' `JSON.useDateParser()` makes it. */
async function withDateParser<T>(run: () => Promise<T>): Promise<T> {
  const parse = JSON.parse;
  JSON.parse = ((text: string, reviver?: (key: string, value: unknown) => unknown) =>
    parse(text, (key, value: unknown) => {
      const revived = dateParser(key, value);
      return reviver ? reviver.call(undefined, key, revived) : revived;
    })) as typeof JSON.parse;
  try {
    return await run();
  } finally {
    JSON.parse = parse;
  }
}

describe('pages of one widget over one outbox, with page globals, a lock manager and a diag logger that misbehave', () => {
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
    /** Ends a span with one KPI event per name, which the exporter gets as it ends. */
    record(...names: string[]): void;
  }

  /** A page of the widget whose `navigator.locks` is `locks` (by default its own view of the shared manager). */
  function page(options: CifSpanExporterOptions, locks: LockClient = manager.client(), pageLocks: OutboxLocks = locks.locks): Page {
    const exporter = withPageGlobals({ navigator: { locks: pageLocks } }, () => new CifSpanExporter({ outbox: { store, name: 'widget' }, ...options }));
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

  /** Ends a page as a closed tab or a crash does: nothing disposed, its locks let go. */
  function crash(p: Page): void {
    fake.closeables.splice(fake.closeables.indexOf(p.exporter), 1);
    p.locks.crash();
  }

  const settle = () => fake.clock.tickAsync(0);

  /** A page made while the page's `Date.now` is `now`, which its outbox keeps; the SDK's spans are made with the real one. */
  function pageWithClock(now: () => unknown, options: CifSpanExporterOptions): Page {
    const real = Date.now;
    Date.now = now as () => number;
    try {
      return page(options);
    } finally {
      Date.now = real;
    }
  }

  /** A page gone that left one call, `Left`, in the store. */
  async function pageGoneLeaving(): Promise<void> {
    const first = page({ client: new RecordingCifClient(), ready: starting() });
    await settle();
    first.record('Left');
    await settle();
    expect(Object.keys(store.contents())).to.have.length(1);
    crash(first);
  }

  // CHANGELOG: "A page whose `Date.now` throws (an SES compartment) no longer makes the exporters'
  // constructors throw and leave unhandled rejections"; anything from outside the library is hostile

  // "At most once. ... once handed over it is never sent again, even if the page dies before the
  // answer" and "two open tabs never both send one stored call", with a lock manager
  // that grants twice (a polyfill with a bug).
  // docs/page-lifecycle.md: "`outbox: false` turns it off, and leaves what earlier pages stored where it is, unsent,
  // until a page with the outbox on takes it over or the storage is cleared".
  it('leaves what an earlier page stored, unsent, with outbox: false, for a later page with the outbox on', async () => {
    const first = page({ client: new RecordingCifClient(), ready: starting() });
    await settle();
    first.record('CallAccepted');
    await settle();
    crash(first);
    const off = page({ client: new RecordingCifClient(), outbox: false });
    off.record('CallHold');
    await fake.clock.tickAsync(HANDOVER_WAIT_MILLIS);
    expect(Object.keys(store.contents())).to.have.length(1);
    expect(off.exporter.getStats().outbox.replayed).to.equal(0);
    const host = new RecordingCifClient();
    page({ client: host });
    await fake.clock.tickAsync(HANDOVER_WAIT_MILLIS);
    expect(host.calls.map(kpiNames)).to.deep.equal([['CallAccepted']]);
    expect(Object.keys(store.contents())).to.deep.equal([]);
  });

  it('sends a call a closed tab left once, though the lock manager calls back twice as it grants that tab\'s lock', async () => {
    const first = page({ client: new RecordingCifClient(), ready: starting() });
    await settle();
    first.record('CallAccepted');
    await settle();
    expect(Object.keys(store.contents())).to.have.length(1);

    // A second tab opens while the first is open: it waits for the first tab's lock. Its lock
    // manager (a polyfill with a bug) runs the callback of a granted request twice.
    const host = new RecordingCifClient();
    let ready!: () => void;
    const own = manager.client();
    const twice: OutboxLocks = {
      request: (name, options, callback) =>
        own.locks.request(name, options, (lock) => {
          const answer = callback(lock);
          if (lock) callback(lock);
          return answer;
        }),
    };
    const second = page({ client: host, ready: new Promise<void>((resolve) => (ready = resolve)) }, own, twice);
    await settle();
    crash(first);
    // Granted the first tab's lock, it waits a while before it reads what that tab left.
    await fake.clock.tickAsync(HANDOVER_WAIT_MILLIS);
    ready();
    await settle();
    expect(host.calls.map(kpiNames)).to.deep.equal([['CallAccepted']]);
    expect(second.exporter.getStats()).to.deep.include({ kpiEventsDelivered: 1, kpiEventsPending: 0 });
    expect(second.exporter.getStats().outbox.replayed).to.equal(1);
    expectBalanced(second.exporter.getStats());
  });

  // "When it is sent. A new page of the widget takes over what pages that are gone left, and sends
  // it ... each page's in the order it admitted them, page after page, oldest first by the wall clock
  // when each page stored the earliest call it left": a call handed over left the store, and ranks
  // its page no more.
  const replays: Array<[what: string, recorded: string[], sent: string[]]> = [
    // P stored P2 as the task ended (t = 0), before Q stored Q0 (t = 5); P0 was stored last, at its retry (t = 10).
    ['P stored a call it left before Q did', ['P0', 'P1', 'P2'], ['P0', 'P2', 'Q0']],
    // P stored P1 at t = 0, which left for the host, and P0 at t = 10, after Q stored Q0.
    ['the only call P stored before Q did has since left the store', ['P0', 'P1'], ['Q0', 'P0']],
  ];
  replays.forEach(([what, recorded, sent]) =>
    it(`replays the calls of each page gone in the order that page admitted them, page after page, when ${what}`, async () => {
      // Page P sends one call at a time. Its first call goes to the host in the task of the export,
      // unwritten; the others wait and are written as that task ends. The host rejects the first
      // 10 ms later, so it is written then, for its retry.
      let answered = 0;
      const hostP = new RecordingCifClient({
        answer: () => (answered++ === 0 ? later(10, () => Promise.reject(new Error('Provider is not active'))) : hangs()),
      });
      const p = page({ client: hostP, maxConcurrentCalls: 1, retry: { initialBackoffMillis: 60_000 } });
      await settle();
      p.record(...recorded);
      await fake.clock.tickAsync(5);
      // Page Q, another tab, stores a call while CIF starts there.
      const q = page({ client: new RecordingCifClient(), ready: starting() });
      await settle();
      q.record('Q0');
      await fake.clock.tickAsync(5);
      // P0 was rejected and is back in the store, waiting for its retry; P1 is at the host.
      expect(hostP.calls.map(kpiNames)).to.deep.equal([['P0'], ['P1']]);
      crash(p);
      crash(q);

      const host = new RecordingCifClient();
      const next = page({ client: host });
      await settle();
      expect(host.calls.flatMap(kpiNames)).to.deep.equal(sent);
      expectBalanced(next.exporter.getStats());
    }),
  );

  // "Everything from outside the library is hostile input: ... page globals", and the outbox's own
  // word: "Stamped at its first write, where a page's clock that throws is a failed write." A page
  // that tames Date while the widget starts (as an SES compartment does, whose hardened
  // Math.random the delivery already takes) makes Date.now() throw.
  it("never throws into the page, nor leaves an unhandled rejection, when the page's Date.now throws as the exporter is made", async () => {
    const host = new RecordingCifClient();
    const now = Date.now;
    let made: Page | undefined;
    let thrown: unknown;
    const unhandled = await unhandledRejectionsOf(async () => {
      Date.now = () => {
        throw new TypeError('secure mode Calling %SharedDate%.now() throws');
      };
      try {
        made = page({ client: host });
        // Its first moments: the lock grant, and the claim.
        await settle();
      } catch (error) {
        thrown = error;
      } finally {
        Date.now = now;
      }
    });
    expect({ thrown: thrown === undefined ? undefined : String(thrown), unhandled: unhandled.map(String) }).to.deep.equal({ thrown: undefined, unhandled: [] });
    made!.record('CallAccepted');
    await settle();
    expect(host.calls.map(kpiNames)).to.deep.equal([['CallAccepted']]);
    expectBalanced(made!.exporter.getStats());
  });

  // "Stamped at its first write, where a page's clock that throws or gives no time is a failed write:
  // the next page could not read it": a page whose Date.now() answers NaN (an older SES's tamed Date)
  // while the call is written. The span carries its own times, so the SDK needs no clock.
  it('counts a call written while the page\'s Date.now answers NaN as not stored (a store error), and leaves the next page nothing unreadable', async () => {
    const at = new Date(Date.UTC(2026, 10, 25, 10, 15));
    const now = Date.now;
    let first: Page;
    const lines = captureLevels();
    Date.now = () => NaN;
    try {
      first = page({ client: new RecordingCifClient(), ready: starting() });
      await settle();
      const span = first.tracer.startSpan('call', { attributes: IDENTITY, startTime: at });
      span.addEvent('CallAccepted', at);
      span.end(at);
      await settle();
    } finally {
      Date.now = now;
    }
    const { outbox, kpiEventsPending } = first.exporter.getStats();
    expect([kpiEventsPending, outbox.stored, outbox.notStored.store_error, Object.keys(store.contents())]).to.deep.equal([1, 0, 1, []]);
    expect(lines.filter((line) => line.includes('store or lock failed'))).to.deep.equal([
      'warn outbox: store or lock failed (getStats().outbox.storeErrors) TypeError: the wall clock gave no time',
    ]);
    crash(first);

    const next = page({ client: new RecordingCifClient() });
    await settle();
    expect(next.exporter.getStats().outbox).to.deep.include({ replayed: 0, unreadable: 0 });
  });

  // "at most `maxConcurrentCalls` calls are at the host, the others wait in a queue, oldest first:
  // calls go in the order they were handed over" — while a diag logger that records a KPI event as
  // it is warned (as the exporters' own tests have one do) is told of a store failure in the middle
  // of taking a call out of the outbox.
  it('keeps maxConcurrentCalls and the order of calls when a diag logger exports as the outbox warns of a store failure while it takes a call out', async () => {
    // The store throws as it removes an entry, though the entry is gone (a removal the browser made
    // before its quota bookkeeping failed): the call may go, and the failure is warned about.
    const host = new RecordingCifClient({ answer: (_call, index) => (index === 0 ? later(10, 'ok') : hangs()) });
    const widget = page({ client: host, maxConcurrentCalls: 1 });
    await settle();
    const remove = store.removeItem.bind(store);
    store.removeItem = (key) => {
      remove(key);
      throw new DOMException('the storage backend failed', 'UnknownError');
    };
    // X0 goes at once; X1 waits for the slot and is written as the task ends.
    widget.record('X0', 'X1');
    await settle();
    expect(host.calls.map(kpiNames)).to.deep.equal([['X0']]);
    let recorded = false;
    const restore = installActingDiag((level, line) => {
      if (level === 'warn' && line.includes('store or lock failed') && !recorded) {
        recorded = true;
        widget.record('Y');
      }
    });
    try {
      // X0 answers: X1 is taken out of the store, and the logger, warned, records Y.
      await fake.clock.tickAsync(10);
    } finally {
      restore();
    }
    expect(recorded).to.equal(true);
    const stats = widget.exporter.getStats();
    expect({ sent: host.calls.map(kpiNames), inFlight: stats.callsInFlight }).to.deep.equal({ sent: [['X0'], ['X1']], inFlight: 1 });
    expectBalanced(stats);
  });

  // "The waits of `forceFlush()` and `shutdown()` are `setTimeout` delays of their own, which end even
  // where the page's `performance.now` stands still, and early where its `setTimeout` fires early."
  it('gives up a call in flight when shutdown() is called on a page whose setTimeout fires early, as its wait ends then', async () => {
    const host = new RecordingCifClient({ answer: () => later(1_000, 'ok') });
    const widget = page({ client: host, outbox: false, timeoutMillis: 15_000 });
    widget.record('CallEnded');
    expect(host.calls).to.have.length(1);
    const pageSetTimeout = globalThis.setTimeout;
    // Fires every callback at once, whatever the delay, as a page's throttling shim may.
    globalThis.setTimeout = ((callback: () => void) => pageSetTimeout(callback, 0)) as typeof setTimeout;
    let closing: Promise<void>;
    try {
      closing = widget.exporter.shutdown();
    } finally {
      globalThis.setTimeout = pageSetTimeout;
    }
    await fake.clock.tickAsync(1_000);
    await closing;
    const stats = widget.exporter.getStats();
    expect({ delivered: stats.kpiEventsDelivered, afterShutdown: stats.dropped.after_shutdown }).to.deep.equal({ delivered: 0, afterShutdown: 1 });
    expectBalanced(stats);
  });

  // constructors throw and leave unhandled rejections"; anything from outside the library is hostile
  // input. A page's Date.now that answers a BigInt fails the write it stamps (as NaN does), but the
  // takeover subtracts it from a stored time: a TypeError in the claim's promise chain.
  it("replays what a page gone left, with no unhandled rejection, where the page's Date.now answers a BigInt", async () => {
    await pageGoneLeaving();
    const host = new RecordingCifClient();
    let next!: Page;
    const unhandled = await unhandledRejectionsOf(async () => {
      next = pageWithClock(() => BigInt(Date.now()), { client: host });
      await settle();
    });
    expect(unhandled.map(String)).to.deep.equal([]);
    next.record('Own');
    await settle();
    expect(host.calls.map(kpiNames)).to.deep.equal([['Left'], ['Own']]);
    expectBalanced(next.exporter.getStats());
  });

  // CHANGELOG: "a page that gets no time from it expires no stored call"; Infinity is no time.
  it("expires no stored call where the page's Date.now answers Infinity, which the outbox's writes count as no time", async () => {
    await pageGoneLeaving();
    const host = new RecordingCifClient();
    const next = pageWithClock(() => Infinity, { client: host });
    await settle();
    const { outbox } = next.exporter.getStats();
    expect({ expired: outbox.expired, replayed: outbox.replayed, sent: host.calls.flatMap(kpiNames) }).to.deep.equal({ expired: 0, replayed: 1, sent: ['Left'] });
    expectBalanced(next.exporter.getStats());
  });

  // docs/page-lifecycle.md: "When the count says full, the store is counted again at most once a
  // second ... other tabs remove too", also after a count whose time the page's clock did not give.
  it('stores a call once another tab removed its own, though the page\'s Date.now threw once as the store was counted', async () => {
    // Another tab stores a call while CIF starts there.
    let otherReady!: () => void;
    const otherHost = new RecordingCifClient();
    const other = page({ client: otherHost, ready: new Promise<void>((resolve) => (otherReady = resolve)) });
    await settle();
    other.record('Theirs');
    await settle();
    const [key, value] = [...store.items][0]!;
    const size = 2 * (key.length + value.length);

    // This tab's outbox has room for about one call; its Date.now throws while the store is counted at its start.
    let throwing = true;
    const real = Date.now;
    const mine = pageWithClock(
      () => {
        if (throwing) throw new TypeError('secure mode Calling %SharedDate%.now() throws');
        return real();
      },
      { client: new RecordingCifClient(), ready: starting(), outbox: { store, name: 'widget', maxBytes: Math.round(size * 1.5) } },
    );
    await settle();
    throwing = false;

    // The other tab's CIF comes: its call goes to the host and leaves the store.
    otherReady();
    await settle();
    expect(otherHost.calls.map(kpiNames)).to.deep.equal([['Theirs']]);
    expect(Object.keys(store.contents())).to.deep.equal([]);

    // Seconds later this tab stores a call: the store is empty.
    await fake.clock.tickAsync(5_000);
    mine.record('Mine');
    await settle();
    const { outbox } = mine.exporter.getStats();
    expect({ stored: outbox.stored, full: outbox.notStored.full, keys: Object.keys(store.contents()).length }).to.deep.equal({ stored: 1, full: 0, keys: 1 });
  });
  /** A page whose CIF never starts records with `record`, one call, and goes as a crash does, the call left in the store. */
  async function leaveOneCall(record: (first: Page) => void): Promise<void> {
    const keys = Object.keys(store.contents()).length;
    const first = page({ client: new RecordingCifClient(), ready: starting() });
    await settle();
    record(first);
    await settle();
    expect(Object.keys(store.contents())).to.have.length(keys + 1);
    crash(first);
  }

  // docs/page-lifecycle.md, "When it is sent": the next page sends what a page left "with the
  // original payloads (the event's own `eventTimestamp`, the original `correlationId`)". The outbox
  // reads with JSON.parse as the library loaded, not one a page library made revive dates later. A
  // widget's own strings may look like dates too: a KPI event's reason is free text, and may hold a
  // date as the widget wrote it (a local time with its offset, the ASP.NET AJAX form older Dynamics
  // endpoints answer with): neither is sent as a Date, nor as a string in another form.
  (
    [
      ['a local time with its offset', '2026-11-25T10:15:30+01:00'],
      ['a time without milliseconds', '2026-11-25T10:15:30Z'],
      ['an ASP.NET AJAX date', '/Date(1764065730123)/'],
      ['a string shaped as an ISO date that is none', '2026-13-45T10:15:30Z'],
    ] as const
  ).forEach(([what, reason]) =>
    it(`has the next page send a stored call as it was stored, its eventTimestamp and a kpiEventReason that is ${what}, under a JSON.parse that revives dates`, async () => {
      const at = new Date(Date.now()).toISOString();
      await leaveOneCall((first) => {
        const span = first.tracer.startSpan('call', { attributes: IDENTITY });
        span.addEvent('CallRejected', { [ATTR_CIF_KPI_REASON]: reason });
        span.end();
      });
      const host = new RecordingCifClient();
      const second = await withDateParser(async () => {
        const made = page({ client: host });
        await settle();
        return made;
      });
      expectBalanced(second.exporter.getStats());
      const events = host.calls.flatMap((call) => (call.data as { events: Array<{ kpiEventName: string; kpiEventReason?: unknown; eventTimestamp: unknown }> }).events);
      expect(events.map((event) => [event.kpiEventName, event.kpiEventReason, event.eventTimestamp])).to.deep.equal([['CallRejected', reason, at]]);
    }),
  );

  describe("the page id, against the page's crypto", () => {
    const { randomUUID } = crypto;
    afterEach(() => {
      Reflect.deleteProperty(crypto, 'randomUUID');
      Reflect.deleteProperty(crypto, 'getRandomValues');
    });

    /** Makes the page's `crypto[name]` `replacement` (an own property over the prototype's). */
    const pageCrypto = (name: 'randomUUID' | 'getRandomValues', replacement: (array: never) => unknown) => Object.defineProperty(crypto, name, { value: replacement, configurable: true, writable: true });

    // The page id is a v4 UUID of uuid's own bytes and format, never the page's crypto.randomUUID:
    // one that throws (a hardened page, a broken polyfill) would throw out of the constructor, which
    // throws only a TypeError for an invalid option; one that answers in capitals, as Dynamics 365
    // writes GUIDs, would key calls no later page reads back (PAGE_AND_SEQ is lower case).
    it("keeps calls in the outbox where the page's crypto.randomUUID throws, and one that answers in capitals, which the next page sends", async () => {
      pageCrypto('randomUUID', () => {
        throw new Error('randomUUID is not allowed here');
      });
      await leaveOneCall((first) => first.record('Thrown'));
      pageCrypto('randomUUID', () => randomUUID.call(crypto).toUpperCase());
      await leaveOneCall((first) => first.record('Capitals'));
      const host = new RecordingCifClient();
      const next = page({ client: host });
      await settle();
      expect(host.calls.map((c) => c.eventName).sort(), 'calls the next page sent').to.deep.equal(['Capitals', 'Thrown']);
      expectBalanced(next.exporter.getStats());
    });

    it("constructs an exporter without an outbox, saying why at DEBUG, where the page's crypto.getRandomValues throws", () => {
      const lines = captureLevels();
      pageCrypto('getRandomValues', () => {
        throw new Error('no entropy');
      });
      let made: Page | undefined;
      try {
        expect(() => (made = page({ client: new RecordingCifClient() }))).not.to.throw();
      } finally {
        Reflect.deleteProperty(crypto, 'getRandomValues');
        diag.disable();
      }
      expect(made!.exporter.getStats().outbox).to.include({ stored: 0 });
      expect(lines).to.deep.equal(['debug no outbox: no page id or no AbortController Error: no entropy']);
    });

    // Its every page would share one id: none could tell the calls of a page gone from its own.
    it("constructs an exporter without an outbox, saying why at DEBUG, where the page's crypto.getRandomValues fills nothing, and delivers its calls", async () => {
      const lines = captureLevels();
      pageCrypto('getRandomValues', (array: unknown) => array);
      const host = new RecordingCifClient();
      let made: Page | undefined;
      try {
        made = page({ client: host });
      } finally {
        Reflect.deleteProperty(crypto, 'getRandomValues');
        diag.disable();
      }
      expect(lines).to.deep.equal(['debug no outbox: no page id or no AbortController Error: crypto.getRandomValues gave one id twice']);
      made.record('CallAccepted');
      await settle();
      expect(host.calls.map((c) => c.eventName)).to.deep.equal(['CallAccepted']);
      expect(made.exporter.getStats().outbox.stored).to.equal(0);
      expect(store.contents()).to.deep.equal({});
    });

    it('constructs an exporter without an outbox, saying why at DEBUG, where the page has no AbortController, and delivers its calls', async () => {
      const lines = captureLevels();
      const host = new RecordingCifClient();
      const made = withPageGlobals({ AbortController: undefined }, () => {
        try {
          return page({ client: host });
        } finally {
          diag.disable();
        }
      });
      made.record('CallAccepted');
      await settle();
      expect(host.calls.map((c) => c.eventName)).to.deep.equal(['CallAccepted']);
      expect(made.exporter.getStats().outbox).to.include({ stored: 0 });
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/^debug no outbox: no page id or no AbortController TypeError: AbortController is not a constructor/);
    });
  });
});
