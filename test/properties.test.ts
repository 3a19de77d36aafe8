import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { expect } from 'chai';
import fc from 'fast-check';
import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import { CifSpanExporter, type CifAnalyticsData, type CifSpanExporterOptions } from '../src/index.js';
import { expectBalanced, hangs, throws, timedClient, type Answer } from './helpers/fake-client.js';
import { at, makeSpan } from './helpers/spans.js';
import { hostileValues, plainValues } from './helpers/attribute-values.js';

const attributeValue = fc.oneof(
  ...plainValues,
  // Built inside the property: fast-check itself must not touch them.
  fc.nat(hostileValues.length - 1).map((hostile) => ({ hostile })),
);
const attributeKey = fc.constantFrom(
  'cif.conversation.id',
  'cif.provider_session.id',
  'cif.participant.id',
  'cif.kpi.name',
  'cif.kpi.reason',
  'cif.kpi.additional_data',
  'cif.kpi.notification_response_action',
  'cif.kpi.external_correlation_id',
  'cif.kpi.custom.msdyn_customattribute1',
  'cif.kpi.custom.Not A Column',
  'other.key',
);
/** An attribute bag, some of whose keys are getters that throw. */
const attributes = fc.array(fc.tuple(attributeKey, attributeValue, fc.nat(9).map((n) => n === 0)), { maxLength: 6 });
type AttributesPlan = typeof attributes extends fc.Arbitrary<infer T> ? T : never;

function buildAttributes(plan: AttributesPlan, base: object = {}): Record<string, unknown> {
  const bag: Record<string, unknown> = { ...base };
  for (const [key, value, throwing] of plan) {
    if (throwing) Object.defineProperty(bag, key, { get: () => { throw new Error('getter trap'); }, enumerable: true, configurable: true });
    else Object.defineProperty(bag, key, { value: isHostile(value) ? hostileValues[value.hostile]!() : value, enumerable: true, configurable: true });
  }
  return bag;
}

function isHostile(value: unknown): value is { hostile: number } {
  return typeof value === 'object' && value !== null && 'hostile' in value;
}
const identity = fc.option(fc.record({ 'cif.conversation.id': fc.string({ maxLength: 110 }), 'cif.provider_session.id': fc.string({ maxLength: 110 }) }));
const time = fc.oneof(
  fc.integer({ min: 0, max: 4_000_000_000 }).map((s) => [s, 0] as [number, number]),
  fc.constant([Number.NaN, 0] as [number, number]),
  fc.constant([1e13, 0] as [number, number]),
  // A Date holds them, Dataverse does not: before 1753, after 9999, and microseconds taken for milliseconds.
  fc.constantFrom<[number, number]>([-7_000_000_000, 0], [-62_198_755_200, 0], [253_402_300_800, 0], [1_800_000_000_000, 0]),
);
const span = fc.record({
  identity,
  attributes,
  events: fc.array(fc.record({ name: fc.string({ maxLength: 120 }), time, attributes: fc.option(attributes, { nil: undefined }) }), { maxLength: 5 }),
  droppedEventsCount: fc.nat(3),
  broken: fc.nat(9).map((n) => n === 0),
});
type SpanPlan = typeof span extends fc.Arbitrary<infer T> ? T : never;

function buildSpan(plan: SpanPlan) {
  const events = plan.events.map((e) => ({ name: e.name, time: e.time, attributes: e.attributes && buildAttributes(e.attributes) }));
  const made = {
    ...makeSpan({ attributes: buildAttributes(plan.attributes, plan.identity ?? {}) as never, events: events as never, endTime: at('2026-11-25T10:20:00.000Z') }),
    droppedEventsCount: plan.droppedEventsCount,
  };
  return plan.broken ? { ...made, spanContext: () => { throw new Error('span trap'); } } : made;
}
/** Rejection reasons whose reading throws, built at call time (fast-check must not touch them). */
const hostileReasons: Array<() => unknown> = [
  ...hostileValues,
  () => Object.defineProperty({}, 'message', { get: () => { throw new Error('message trap'); } }),
  () => new Error(''),
  () => new Proxy(new Error('hidden'), { get: (target, key) => { if (key === 'message') throw new Error('message trap'); return Reflect.get(target, key); } }),
  () => new Proxy(new Error('hidden'), { get: () => { throw new Error('get trap'); } }),
];
/** How the host answers a call: a number picks one of the hostile rejection reasons. */
type AnswerPlan = 'ok' | 'hang' | { reject: unknown } | { throw: unknown } | number;
const answer = fc.oneof(
  fc.constant<AnswerPlan>('ok'),
  fc.anything().map((reason): AnswerPlan => ({ reject: reason })),
  fc.anything().map((reason): AnswerPlan => ({ throw: reason })),
  fc.constant<AnswerPlan>('hang'),
  fc.nat(hostileReasons.length - 1),
);

function buildAnswer(plan: AnswerPlan): Answer {
  if (typeof plan === 'number') return Promise.reject(hostileReasons[plan]!());
  if (plan === 'ok') return 'ok';
  if (plan === 'hang') return hangs();
  return 'reject' in plan ? Promise.reject(plan.reject) : throws(plan.throw);
}
const options = fc.record({
  maxEventsPerCall: fc.integer({ min: 1, max: 3 }),
  dataFormat: fc.constantFrom<'object' | 'json'>('object', 'json'),
  retry: fc.record({ maxAttempts: fc.integer({ min: 1, max: 3 }) }),
  maxConcurrentCalls: fc.integer({ min: 1, max: 3 }),
  maxQueueSize: fc.integer({ min: 1, max: 10 }),
});

/**
 * What happens to the clocks while calls are out: the page is suspended (the monotonic clock and
 * the wall clock jump forward, timers fire once), or the wall clock alone is set either way.
 */
const clockStep = fc.record({
  after: fc.nat(2_000),
  kind: fc.constantFrom('suspend', 'wall'),
  millis: fc.integer({ min: -7_200_000, max: 7_200_000 }),
});
type ClockStep = typeof clockStep extends fc.Arbitrary<infer T> ? T : never;

async function runClockSteps(clock: InstalledClock, steps: readonly ClockStep[]): Promise<void> {
  for (const { after, kind, millis } of steps) {
    await clock.tickAsync(after);
    if (kind === 'suspend') clock.jump(Math.abs(millis));
    else clock.setSystemTime(Date.now() + millis);
  }
}

/** Makes the `n`th `setTimeout` from now throw, as on a hardened page; returns how to undo it. */
function breakTimer(n: number | null): () => void {
  const real = globalThis.setTimeout;
  if (n === null) return () => {};
  let calls = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    if (calls++ === n) throw new Error('setTimeout trap');
    return real(...args);
  }) as typeof setTimeout;
  return () => (globalThis.setTimeout = real);
}

const COLUMN_SIZES: Record<string, number> = { additionalData: 2000 };

/** Every payload field is a string that fits its Dataverse column. */
function expectFitsColumns(data: CifAnalyticsData | string): void {
  const payload = typeof data === 'string' ? (JSON.parse(data) as CifAnalyticsData) : data;
  const { events, ...ids } = payload;
  for (const value of Object.values(ids)) expect(value).to.be.a('string').with.length.within(1, 100);
  for (const event of events) {
    for (const [field, value] of Object.entries(event)) {
      if (field === 'customData') {
        for (const item of value as Array<{ attribute: string; value: string }>) {
          expect(item.attribute).to.match(/^[a-z][a-z0-9]{1,7}_[a-z0-9_]+$/);
          expect(item.value).to.be.a('string').with.length.at.most(100);
        }
      } else if (field === 'eventTimestamp') {
        expect(value).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(value >= '1753-01-01' && value <= '9999-12-31T23:59:59.999Z', `${value} is in Dataverse's range`).to.equal(true);
      } else {
        expect(value).to.be.a('string').with.length.within(1, COLUMN_SIZES[field] ?? 100);
      }
    }
  }
}

describe('CifSpanExporter properties', function () {
  // CPU-bound: about 1 s idle, several times that on a busy core.
  this.timeout(60_000);
  let clock: InstalledClock;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: 1_800_000_000_000 });
  });
  afterEach(() => clock.uninstall());

  it('never throws, calls back once, balances its counters, sends only fields that fit, and leaves nothing pending after forceFlush, whatever the clocks and timers do', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(span, { maxLength: 4 }),
          fc.array(answer, { minLength: 1, maxLength: 8 }),
          options,
          fc.array(clockStep, { maxLength: 3 }),
          fc.option(fc.nat(4)),
          async (plans, answers, chosen, steps, brokenTimer) => {
          const spans = plans.map(buildSpan);
          const client = timedClient((_, index) => buildAnswer(answers[index % answers.length]!));
          const exporter = new CifSpanExporter({ client, timeoutMillis: 1_000, ...chosen } as CifSpanExporterOptions);
          const results: ExportResult[] = [];
          const repair = breakTimer(brokenTimer);
          try {
            expect(() => exporter.export(spans, (result) => results.push(result))).not.to.throw();
            const flushed = exporter.forceFlush();
            await runClockSteps(clock, steps);
            await clock.runAllAsync();
            await flushed;
          } finally {
            repair();
          }
          expect(results).to.have.length(1);
          if (results[0]!.code === ExportResultCode.FAILED) expect(results[0]!.error).to.be.instanceOf(Error);
          const stats = exporter.getStats();
          expectBalanced(stats);
          expect(stats).to.include({ kpiEventsPending: 0, callsQueued: 0, callsInFlight: 0, spansSeen: spans.length });
          for (const call of client.calls) expectFitsColumns(call.data);
          const closed = exporter.shutdown();
          await clock.runAllAsync();
          await closed;
          expect(clock.countTimers()).to.equal(0);
        }),
        { numRuns: 200 },
      );
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
