import type { HrTime } from '@opentelemetry/api';
import type { MappingDropReason, MappingStats } from '../stats.js';
import type { CifKpiEvent, CifSession } from '../types.js';
import {
  buildKpiEvent,
  missingIds,
  payloadString,
  resolveIdentity,
  type AttributeBag,
  type CustomAttributes,
  type Identity,
  type KpiFields,
} from './kpi-fields.js';
import { isDataverseTime } from './values.js';

/** What the mapping of any source needs from its exporter's options, already validated. */
export interface KpiEventOptions<S> {
  session: CifSession;
  customAttributes: CustomAttributes;
  eventName: (kpiEvent: CifKpiEvent, source: S) => string;
  correlationId: (source: S, identity: Identity) => string;
  maxEventsPerCall: number;
}

/**
 * Told why KPI events or a field could not be sent, with what only the source shows: which span
 * lacks which ids, which key names no column. The exporter shows each reason once.
 */
export type MappingWarn = (reason: MappingDropReason | 'invalid_custom_column', detail: string) => void;

/** A KPI event as its source holds it: name and time as found, fields already read. */
export interface KpiCandidate {
  name: unknown;
  time: HrTime;
  fields: KpiFields;
}

/** A KPI event on its way into a call. */
export interface PendingKpiEvent {
  millis: number;
  event: CifKpiEvent;
  eventName: string;
  identity: Identity;
  correlationId: string;
}

/** Who the KPI events of one source (a span, a log record) belong to, or why they go nowhere. */
export type Owner =
  | { identity: Identity; correlationId: string }
  | { drop: 'missing_identity' | 'identity_too_long'; detail: string };

/**
 * Reads the owner of a source's KPI events: identity from its attributes, its resource and the
 * `session` option, and the `correlationId`. `label` names the source in the warning.
 */
export function resolveOwner<S>(
  source: S,
  attributes: AttributeBag,
  resourceAttributes: AttributeBag,
  options: KpiEventOptions<S>,
  defaultCorrelationId: (source: S, identity: Identity) => string,
  label: () => string,
  stats: MappingStats,
): Owner {
  const identity = resolveIdentity(attributes, resourceAttributes, options.session, stats);
  if (identity === 'identity_too_long') return { drop: identity, detail: '' };
  if (identity === 'missing_identity') {
    return { drop: identity, detail: `${label()} has no ${missingIds(attributes, resourceAttributes, options.session)}` };
  }
  return { identity, correlationId: ask(options.correlationId, defaultCorrelationId, isText, source, identity, stats) };
}

/**
 * The rules every source shares, applied once its reads are done: each KPI event gets a name, a
 * valid time and its fields cut to their columns, or is counted under the reason it was dropped.
 */
export function addKpiEvents<S>(
  source: S,
  kpis: readonly KpiCandidate[],
  owner: Owner,
  options: KpiEventOptions<S>,
  stats: MappingStats,
  out: PendingKpiEvent[],
  warn: MappingWarn | undefined,
): void {
  if ('drop' in owner) {
    stats.dropped[owner.drop] += kpis.length;
    if (owner.detail) warn?.(owner.drop, owner.detail);
    return;
  }
  for (const kpi of kpis) {
    const name = payloadString(kpi.name, stats);
    if (name === undefined) {
      stats.dropped.missing_kpi_name++;
      continue;
    }
    const millis = hrTimeToMillis(kpi.time);
    if (millis === undefined || !isDataverseTime(millis)) {
      stats.dropped.invalid_timestamp++;
      continue;
    }
    const event = buildKpiEvent(name, millis, kpi.fields, stats);
    const eventName = ask(options.eventName, defaultEventName, isText, event, source, stats);
    out.push({ millis, event, eventName, identity: owner.identity, correlationId: owner.correlationId });
  }
}

/** The KPI event's own name. */
export function defaultEventName(kpiEvent: CifKpiEvent): string {
  return kpiEvent.kpiEventName;
}

/**
 * Asks a callback the user passed. A throw, or a value `valid` refuses, is counted in
 * `callbackErrors` and gets `fallback`'s answer. The default itself runs unguarded: when it
 * throws, the source cannot be read, which is the source's fault.
 */
export function ask<A, B, R>(
  callback: (a: A, b: B) => unknown,
  fallback: (a: A, b: B) => R,
  valid: (value: unknown) => value is R,
  a: A,
  b: B,
  stats: MappingStats,
): R {
  if (callback === fallback) return fallback(a, b);
  try {
    const value = callback(a, b);
    if (valid(value)) return value;
  } catch {
    // Counted below; the default answers for this one.
  }
  stats.callbackErrors++;
  return fallback(a, b);
}

export const isBoolean = (value: unknown): value is boolean => typeof value === 'boolean';
const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';

/** Dataverse keeps milliseconds: the rest of the nanoseconds is dropped, not rounded. */
const MAX_DATE_MILLIS = 8.64e15;

export function hrTimeToMillis(time: HrTime): number | undefined {
  try {
    const millis = time[0] * 1000 + Math.floor(time[1] / 1e6);
    return Number.isFinite(millis) && Math.abs(millis) <= MAX_DATE_MILLIS ? millis : undefined;
  } catch {
    // A time that cannot be read is no valid date either.
    return undefined;
  }
}
