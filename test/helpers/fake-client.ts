import { expect } from 'chai';
import type { CifAnalyticsClient, CifAnalyticsData, CifDeliveryStats } from '../../src/index.js';
import { DELIVERY_DROP_REASONS } from '../../src/stats.js';

export interface RecordedCall {
  data: CifAnalyticsData | string;
  eventName: string;
  correlationId: string | undefined;
}

/** A recorded call and `Date.now()` when it was made (the fake clock's, under fake timers). */
export interface TimedCall extends RecordedCall {
  at: number;
}

/** How the fake host answers one call. */
export type Answer =
  | { ok: string }
  | { reject: unknown }
  | { throw: unknown }
  | { hang: true }
  | { after: number; answer: Answer };

export const ok = (value = 'ok'): Answer => ({ ok: value });
export const rejects = (reason: unknown): Answer => ({ reject: reason });
export const throws = (reason: unknown): Answer => ({ throw: reason });
export const hangs = (): Answer => ({ hang: true });
export const later = (millis: number, answer: Answer): Answer => ({ after: millis, answer });

export type FakeClient = CifAnalyticsClient & { calls: TimedCall[] };

/**
 * A fault-injecting CIF client: records every call and answers as `script(call, index)` says:
 * resolve, reject with anything, throw synchronously, never answer, or any of those after a delay.
 */
export function faultyClient(script: (call: TimedCall, index: number) => Answer = () => ok()): FakeClient {
  const calls: TimedCall[] = [];
  return {
    calls,
    logAnalyticsEvent(data, eventName, correlationId) {
      const call = { data, eventName, correlationId, at: Date.now() };
      calls.push(call);
      const answer = script(call, calls.length - 1);
      if ('throw' in answer) throw answer.throw;
      return respond(answer);
    },
  };
}

function respond(answer: Answer): Promise<string> {
  if ('ok' in answer) return Promise.resolve(answer.ok);
  if ('reject' in answer) return Promise.reject(answer.reject);
  if ('throw' in answer) return Promise.reject(answer.throw);
  if ('hang' in answer) return new Promise(() => {});
  return new Promise((resolve) => setTimeout(() => resolve(respond(answer.answer)), answer.after));
}

/** A client that records every call and answers with `answer(call, index)`. */
export function recordingClient(
  answer: (call: RecordedCall, index: number) => Promise<string> = () => Promise.resolve('ok'),
): CifAnalyticsClient & { calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  return {
    calls,
    logAnalyticsEvent(data, eventName, correlationId) {
      const call = { data, eventName, correlationId };
      calls.push(call);
      return answer(call, calls.length - 1);
    },
  };
}

/** Puts `client` on the page as `Microsoft.CIFramework`, as the CIF library does when it loads. */
export function installPageCif(client: CifAnalyticsClient): void {
  (globalThis as Record<string, unknown>)['Microsoft'] = { CIFramework: client };
}

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
  expect(stats.kpiEventsDelivered + stats.kpiEventsPending + dropped, 'kpiEventsSent balance').to.equal(
    stats.kpiEventsSent,
  );
  expect(stats.callsQueued, 'callsQueued').to.be.at.least(0);
  expect(stats.callsInFlight, 'callsInFlight').to.be.at.least(0);
  expect(stats.callsMade - stats.callsRetried, 'first attempts').to.be.at.most(stats.kpiEventsSent);
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
export function kpiNames(call: RecordedCall): string[] {
  const data = typeof call.data === 'string' ? (JSON.parse(call.data) as CifAnalyticsData) : call.data;
  return data.events.map((e) => e.kpiEventName);
}
