import type { ExportResult } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSpanExporter, recordKpiEvent } from '../src/index.js';
import { backoffMillis } from '../src/delivery/retry.js';
import { RecordingCifClient } from '../src/testing/index.js';
import { shutDownAfterTest } from './helpers/shut-down.js';
import { IDENTITY } from './helpers/spans.js';

/** A proxy that hands out its target's methods bound to the target, as Vue's `reactive()` does for a Map. */
function reactive<T extends object>(target: T): T {
  return new Proxy(target, {
    get(map, key) {
      const value = Reflect.get(map, key, map) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(map) : value;
    },
  });
}

/** The shape of MobX's `ObservableMap`: no Map, but tagged `Map`, iterating its entries, with fields of its own. */
class ObservableMapLike {
  name = 'ObservableMap@1';
  enhancer = (value: unknown) => value;
  private readonly data: Map<string, string>;
  constructor(entries: [string, string][]) {
    this.data = new Map(entries);
    (this as Record<symbol, unknown>)[Symbol.toStringTag] = 'Map';
  }
  [Symbol.iterator]() {
    return this.data[Symbol.iterator]();
  }
}

/** The custom columns of the one KPI event `recordKpiEvent` put on a span of the real SDK. */
function customColumns(customData: unknown) {
  const ended = new InMemorySpanExporter();
  const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(ended)] }));
  const span = provider.getTracer('softphone').startSpan('accept call', { attributes: IDENTITY });
  recordKpiEvent(span, 'CallAccepted', { customData: customData as Map<string, string> });
  span.end();
  const attributes = ended.getFinishedSpans()[0]?.events[0]?.attributes ?? {};
  return Object.fromEntries(Object.entries(attributes).filter(([key]) => key.startsWith('cif.kpi.custom.')));
}

describe('Maps behind proxies, Map-likes, and a random that gives no number, as other libraries make them', () => {
  it("sends the customData of a Map behind a proxy that forwards its methods, as Vue's reactive() makes", () => {
    expect(customColumns(reactive(new Map([['msdyn_customattribute1', 'billing']])))).to.deep.equal({ 'cif.kpi.custom.msdyn_customattribute1': 'billing' });
  });

  it("sends the entries of a Map-like object tagged 'Map', as MobX's ObservableMap, not its own fields", () => {
    expect(customColumns(new ObservableMapLike([['msdyn_customattribute1', 'billing']]))).to.deep.equal({ 'cif.kpi.custom.msdyn_customattribute1': 'billing' });
  });

  it('tells a host rejection that is a Map behind a forwarding proxy by its message', async () => {
    const rejection = reactive(new Map([['message', 'Provider is not active']]));
    const client = new RecordingCifClient({ answer: () => Promise.reject(rejection) });
    const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false, retry: { maxAttempts: 1 } }));
    const ended = new InMemorySpanExporter();
    const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(ended)] }));
    const span = provider.getTracer('softphone').startSpan('accept call', { attributes: IDENTITY });
    recordKpiEvent(span, 'CallAccepted');
    span.end();
    const results: ExportResult[] = [];
    exporter.export(ended.getFinishedSpans(), (result) => results.push(result));
    await exporter.forceFlush();
    expect(results.map((result) => result.error?.message)).to.deep.equal(['1 of 1 logAnalyticsEvent calls failed: Provider is not active']);
  });

  it('waits without jitter, and does not throw, when random gives a value that is no number (a BigInt, a symbol)', () => {
    const policy = { maxAttempts: 5, initialBackoffMillis: 1_000, maxBackoffMillis: 30_000 };
    const waits = [() => 1n, () => Symbol('random')].map((random) => {
      try {
        return backoffMillis(2, policy, random as unknown as () => number);
      } catch (error) {
        return String(error);
      }
    });
    expect(waits).to.deep.equal([2_000, 2_000]);
  });
});
