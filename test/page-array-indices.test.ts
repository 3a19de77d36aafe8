// A page library may give Array.prototype indices, as old ones gave Object.prototype keys: an
// array's hole, and an index past its end, is then read through the prototype. None of it may
// reach a payload, a counter or a CIF call's arguments, or make an exporter's constructor throw.
import { context } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifDelivery, CifSpanExporter, recordKpiEvent, setCifSession, type CifKpiEventDetails } from '../src/index.js';
import { CifInstrumentation } from '../src/instrumentation.js';
import { CifLogRecordExporter, emitKpiEvent } from '../src/logs.js';
import { RecordingCifClient, installFakeCIFramework } from '../src/testing/index.js';
import { logPipeline, spanPipeline } from './helpers/pipelines.js';
import { shutDownAfterTest } from './helpers/shut-down.js';
import { shutDownDeliveryAfterTest } from './helpers/shut-down-delivery.js';
import { IDENTITY, makeSpan } from './helpers/spans.js';

const indices = Array.prototype as unknown as Record<number, unknown>;

/** Runs `run` while `Array.prototype` has index `i`, as `descriptor` says, enumerable, as a page library adds one. */
async function withIndex<T>(i: number, descriptor: PropertyDescriptor, run: () => T | Promise<T>): Promise<T> {
  Object.defineProperty(indices, i, { ...descriptor, enumerable: true, configurable: true });
  try {
    return await run();
  } finally {
    delete indices[i];
  }
}

/** An index whose reading throws, and whose writing makes an own value, so that the page's arrays still work. */
const THROWING: PropertyDescriptor = {
  get() {
    throw new Error('the page cannot be read here');
  },
  set(this: unknown[], value: unknown) {
    Object.defineProperty(this, 1, { value, writable: true, enumerable: true, configurable: true });
  },
};

const T1 = new Date('2026-11-25T10:15:30.123Z');
const T2 = new Date('2026-11-25T10:15:31.456Z');

const DETAILS: CifKpiEventDetails = {
  reason: 'inbound',
  additionalData: '{"queue":"billing"}',
  notificationResponseAction: 'accepted',
  externalCorrelationId: 'ext-1',
  customData: { msdyn_customattribute1: 'tier-2', msdyn_customattribute3: 'hold' },
};

/** What a span pipeline and a log pipeline send and count for the same KPI events, one with no fields, one with all. */
async function sent() {
  const spans = spanPipeline();
  const span = spans.tracer.startSpan('call', { attributes: { ...IDENTITY, 'cif.kpi.custom.msdyn_customattribute2': 'span' } });
  recordKpiEvent(span, 'CallOffered', undefined, T1);
  recordKpiEvent(span, 'CallAccepted', DETAILS, T2);
  span.end();
  await spans.flush();
  const logs = logPipeline();
  const session = setCifSession(context.active(), { conversationId: 'conv-1', providerSessionId: 'prov-1' });
  emitKpiEvent(logs.logger, 'CallOffered', undefined, { context: session, time: T1 });
  emitKpiEvent(logs.logger, 'CallAccepted', DETAILS, { context: session, time: T2 });
  await logs.flush();
  const stats = (exporter: { getStats(): object }) => JSON.parse(JSON.stringify(exporter.getStats())) as unknown;
  return { spans: [spans.client.payloads(), stats(spans.exporter)], logs: [logs.client.payloads(), stats(logs.exporter)] };
}

describe('a page that gave Array.prototype indices', () => {
  it('sends and counts the KPI events of spans and log records as on a page that did not', async () => {
    const expected = await sent();
    for (let i = 0; i < 16; i++) indices[i] = `page ${i}`;
    let polluted: Awaited<ReturnType<typeof sent>>;
    try {
      polluted = await sent();
    } finally {
      for (let i = 0; i < 16; i++) delete indices[i];
    }
    expect(polluted).to.deep.equal(expected);
  });

  it('makes exporters, given a CifDelivery or not, with a value or a throwing getter at index 1', async () => {
    const client = new RecordingCifClient();
    const delivery = shutDownDeliveryAfterTest(new CifDelivery({ client, outbox: false }));
    for (const descriptor of [{ value: 'page', writable: true }, THROWING]) {
      await withIndex(1, descriptor, () => {
        shutDownAfterTest(new CifSpanExporter({ delivery }));
        shutDownAfterTest(new CifLogRecordExporter({ delivery }));
        shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
      });
    }
  });

  it('drops as invalid_timestamp a span event whose time is [seconds] alone', async () => {
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
    const span = makeSpan({ attributes: IDENTITY, events: [{ name: 'Short', time: [1764065731] as never }] });
    await withIndex(1, { value: 0, writable: true }, () => new Promise((resolve) => exporter.export([span], resolve)));
    expect([client.calls.length, exporter.getStats().dropped.invalid_timestamp]).to.deep.equal([0, 1]);
  });

  it("gives a CIF call the widget left short undefined for each argument it left out, not the page's index, before the correlationId", async () => {
    const target = new EventTarget() as EventTarget & { Microsoft?: { CIFramework?: Record<string, (...args: unknown[]) => unknown> } };
    const fake = installFakeCIFramework(target);
    const calls: unknown[][] = [];
    target.Microsoft!.CIFramework!.updateConversation = (...args: unknown[]) => (calls.push(args), Promise.resolve('ok'));
    const instrumentation = new CifInstrumentation({ target, enabled: false });
    instrumentation.setTracerProvider(new BasicTracerProvider());
    instrumentation.enable();
    try {
      await withIndex(1, { value: 'page', writable: true }, () => target.Microsoft!.CIFramework!.updateConversation!('conv-1'));
    } finally {
      instrumentation.disable();
      fake.uninstall();
    }
    expect(calls).to.have.length(1);
    expect(calls[0]!.slice(0, 2)).to.deep.equal(['conv-1', undefined]);
    expect(calls[0]![2]).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});
