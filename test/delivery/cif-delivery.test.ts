import { expect } from 'chai';
import { CifDelivery, CifSpanExporter } from '../../src/index.js';
import { CifLogRecordExporter } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { IDENTITY, at, event, makeSpan } from '../helpers/spans.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { createLockManager, MemoryStore } from '../helpers/web-storage.js';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** CIF never ready; shutdown after the test waits `timeoutMillis` for the calls left waiting, so it is short. */
const NEVER_READY = { ready: new Promise(() => {}), timeoutMillis: 1 };

describe('CifDelivery with an outbox', () => {
  const globals = ['localStorage', 'navigator', 'location'] as const;
  let saved: Array<PropertyDescriptor | undefined>;
  let store: MemoryStore;

  beforeEach(() => {
    saved = globals.map((name) => Object.getOwnPropertyDescriptor(globalThis, name));
    store = new MemoryStore();
    Object.defineProperty(globalThis, 'localStorage', { value: store, configurable: true });
    Object.defineProperty(globalThis, 'navigator', { value: { locks: createLockManager().client().locks }, configurable: true });
    Object.defineProperty(globalThis, 'location', { value: { pathname: '/widget.html' }, configurable: true });
  });
  afterEach(() => {
    globals.forEach((name, i) => {
      const descriptor = saved[i];
      if (descriptor) Object.defineProperty(globalThis, name, descriptor);
      else delete (globalThis as Record<string, unknown>)[name];
    });
  });

  it('keeps the calls of both exporters it is shared by in one outbox, on by default where the page has web storage and Web Locks', async () => {
    const delivery = new CifDelivery({ client: new RecordingCifClient(), ...NEVER_READY });
    const spans = shutDownAfterTest(new CifSpanExporter({ delivery }));
    const logs = shutDownAfterTest(new CifLogRecordExporter({ delivery }));
    const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: logs })] });
    await settle();
    spans.export([makeSpan({ attributes: IDENTITY, events: [event('CallAccepted', '2026-11-25T10:15:30.123Z')] })], () => {});
    provider.getLogger('widget').emit({ eventName: 'CallHold', timestamp: at('2026-11-25T10:15:31.000Z'), attributes: IDENTITY });
    await settle();
    const pages = new Set(Object.keys(store.contents()).map((key) => key.split('/')[2]));
    expect([Object.keys(store.contents()).length, pages.size]).to.deep.equal([2, 1]);
    expect(spans.getStats().outbox).to.deep.equal(logs.getStats().outbox);
    const copy = spans.getStats().outbox;
    copy.notStored.full = 99;
    expect(spans.getStats().outbox).to.deep.equal({ stored: 2, notStored: { full: 0, store_error: 0 }, replayed: 0, expired: 0, unreadable: 0, storeErrors: 0 });
  });

  it('keeps nothing when turned off', async () => {
    const spans = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient(), ...NEVER_READY, outbox: false }));
    spans.export([makeSpan({ attributes: IDENTITY, events: [event('CallAccepted', '2026-11-25T10:15:30.123Z')] })], () => {});
    await settle();
    expect([store.contents(), spans.getStats().outbox.stored]).to.deep.equal([{}, 0]);
  });
});
