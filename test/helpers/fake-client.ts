import { expect } from 'chai';
import type { CifAnalyticsClient, CifDeliveryStats } from '../../src/index.js';
import { RecordingCifClient, type RecordedCifCall } from '../../src/testing/index.js';
import { payloadOf } from '../../src/testing/recording-client.js';
import { DELIVERY_DROP_REASONS } from '../../src/stats.js';

/** A recorded call and `Date.now()` when it was made (the fake clock's, under fake timers). */
export interface TimedCall extends RecordedCifCall {
  at: number;
}

/** An answer that makes `logAnalyticsEvent` throw synchronously instead of returning a promise. */
export interface SyncThrow {
  throws: unknown;
}

export const throws = (reason: unknown): SyncThrow => ({ throws: reason });

/** An answer that never settles, as from a host that never replies. */
export const hangs = (): Promise<string> => new Promise(() => {});

/** An answer that comes `millis` later: `answer`, or what it returns then (so a rejection starts then). */
export const later = (millis: number, answer: string | (() => string | Promise<string>)): Promise<string> =>
  new Promise((resolve) => setTimeout(() => resolve(typeof answer === 'function' ? answer() : answer), millis));

/** What a timed client answers a call with: what `RecordingCifClient` may answer, or a synchronous throw. */
export type Answer = string | Promise<string> | SyncThrow;

export type TimedClient = Omit<RecordingCifClient, 'calls'> & { readonly calls: TimedCall[] };

/**
 * A `RecordingCifClient` that also stamps each call with the time it was made and, where
 * `answer` returns `throws(reason)`, throws synchronously as a broken host may: a
 * `RecordingCifClient` always returns a promise.
 */
export function timedClient(answer: (call: TimedCall, index: number) => Answer = () => 'ok'): TimedClient {
  let thrown: SyncThrow | undefined;
  const client = new RecordingCifClient({
    onCall: (call) => ((call as TimedCall).at = Date.now()),
    answer: (call, index) => {
      const result = answer(call as TimedCall, index);
      if (typeof result === 'object' && 'throws' in result) {
        thrown = result;
        return '';
      }
      return result;
    },
  });
  const record = client.logAnalyticsEvent.bind(client);
  client.logAnalyticsEvent = (data, eventName, correlationId) => {
    const promise = record(data, eventName, correlationId);
    if (thrown) {
      const { throws: reason } = thrown;
      thrown = undefined;
      throw reason;
    }
    return promise;
  };
  return client as unknown as TimedClient;
}

/**
 * Puts `client` on the page as `Microsoft.CIFramework` and raises no `CIFInitDone`: a library that
 * answers though its event never came (or came before anyone listened). `installFakeCIFramework`
 * raises the event where the page can, or fails calls until it does.
 */
export function installCifWithoutInitDone(client: CifAnalyticsClient): void {
  (globalThis as Record<string, unknown>)['Microsoft'] = { CIFramework: client };
}

/** Takes `Microsoft` off the page, however it was put there. */
export function removePageCif(): void {
  delete (globalThis as Record<string, unknown>)['Microsoft'];
}

/**
 * Makes `globalThis` an event target, as `window` is in a page, so that `CIFInitDone` can be
 * raised (by `fire`, or by `installFakeCIFramework` through `dispatchEvent`). Returns how to raise it, how many listeners are registered, and how to undo it.
 */
export function pageWindow(): { fire(type: string): void; listeners(type: string): number; restore(): void } {
  const target = new EventTarget();
  const counts = new Map<string, number>();
  const g = globalThis as Record<string, unknown>;
  g['addEventListener'] = (type: string, listener: EventListener) => {
    counts.set(type, (counts.get(type) ?? 0) + 1);
    target.addEventListener(type, listener);
  };
  g['removeEventListener'] = (type: string, listener: EventListener) => {
    counts.set(type, (counts.get(type) ?? 0) - 1);
    target.removeEventListener(type, listener);
  };
  g['dispatchEvent'] = (event: Event) => target.dispatchEvent(event);
  return {
    fire: (type) => target.dispatchEvent(new Event(type)),
    listeners: (type) => counts.get(type) ?? 0,
    restore: () => {
      delete g['addEventListener'];
      delete g['removeEventListener'];
      delete g['dispatchEvent'];
    },
  };
}

/** KPI events handed to delivery all end up delivered, pending, or dropped for a delivery reason. */
export function expectBalanced(stats: CifDeliveryStats): void {
  const dropped = DELIVERY_DROP_REASONS.reduce((sum, reason) => sum + stats.dropped[reason], 0);
  expect(stats.kpiEventsDelivered + stats.kpiEventsPending + stats.kpiEventsKept + dropped, 'kpiEventsSent balance').to.equal(
    stats.kpiEventsSent + stats.outbox.replayed,
  );
  expect(stats.callsQueued, 'callsQueued').to.be.at.least(0);
  expect(stats.callsInFlight, 'callsInFlight').to.be.at.least(0);
  expect(stats.callsMade - stats.callsRetried, 'first attempts').to.be.at.most(stats.kpiEventsSent + stats.outbox.replayed);
}

/** Every counter of a loss at 0. */
export function expectNothingDropped(stats: CifDeliveryStats): void {
  expect(Object.values(stats.dropped).every((n) => n === 0), JSON.stringify(stats.dropped)).to.equal(true);
}

/** A seeded pseudo-random source (mulberry32), so a randomised test fails the same way twice. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The KPI event names of a recorded call's payload. */
export function kpiNames(call: RecordedCifCall): string[] {
  return payloadOf(call).events.map((e) => e.kpiEventName);
}
