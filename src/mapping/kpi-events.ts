import type { HrTime } from '@opentelemetry/api';
import { SESSION_ATTRIBUTES } from '../attributes.js';
import type { MappingDropReason, MappingStats } from '../stats.js';
import type { CifAnalyticsData, CifCall, CifCustomData, CifKpiEvent, CifSession } from '../types.js';
import { field, noFields, own, type AttributeBag, type CustomAttributes, type Identity, type KpiFields } from './kpi-fields.js';
import { reasonText } from '../errors.js';
import { caught } from '../log.js';
import { MAX_ADDITIONAL_DATA_LENGTH, MAX_TEXT_LENGTH, UNSERIALIZABLE, isDataverseTime, toIsoTimestamp, truncate } from './values.js';

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
 * lacks which ids, which key names no field or custom column. The exporter shows each counter's message once.
 */
export type MappingWarn = (counter: `dropped.${MappingDropReason}` | 'droppedFields.invalid_custom_column' | 'callbackErrors', message: string) => void;

/** A KPI event as its source holds it: its name and fields already read (a name that cannot be read is none), its time as found. */
export type KpiCandidate = [name: string | undefined | typeof UNSERIALIZABLE, time: HrTime, fields: KpiFields];

/** A KPI event's call, with its time to put the calls in order. */
export type PendingCall = [millis: number, call: CifCall];

/**
 * The rules every source shares, applied once its fields are read: its KPI events get their
 * owner (identity from the source's attributes, its resource and the `session` option, and the
 * `correlationId`; `label` names the source in the warning), then each a name, a valid time and
 * its fields cut to their columns, or is counted under the reason it was dropped. Every read
 * comes before the first count, so a source that throws here is counted once, by the caller,
 * and its KPI events under no other reason.
 */
export function addKpiEvents<S>(
  source: S,
  kpis: readonly KpiCandidate[],
  attributes: AttributeBag | undefined,
  resourceAttributes: AttributeBag | undefined,
  label: () => string,
  defaultCorrelationId: (source: S, identity: Identity) => string,
  options: KpiEventOptions<S>,
  stats: MappingStats,
  out: PendingCall[],
  warn: MappingWarn | undefined,
): void {
  // Identity per field: the source's attribute, then the resource's, then the configured session.
  const identity: Partial<Identity> = {};
  // Counts its values that cannot be read, left out of every KPI event sent.
  const identityReads = noFields();
  let missing = ''; // 'no ' and the attributes of the ids the docs require that it lacks everywhere.
  let tooLong = ''; // An id over its column, as the warning says it.
  for (const [name, key] of SESSION_ATTRIBUTES) {
    const value = field(attributes, key, identityReads) ?? field(resourceAttributes, key, identityReads) ?? options.session[name];
    if (value === undefined) {
      if (name === 'conversationId' || name === 'providerSessionId') missing += missing ? ` and ${key}` : `no ${key}`;
    } else if (value.length > MAX_TEXT_LENGTH) tooLong = `${key} over ${MAX_TEXT_LENGTH} characters`;
    else identity[name] = value;
  }
  if (tooLong || missing) {
    // Before the count: `label` reads the source.
    const message = `KPI events dropped: ${label()} has ${tooLong || missing}.`;
    const reason = tooLong ? 'identity_too_long' : 'missing_identity';
    stats.dropped[reason] += kpis.length;
    warn?.(`dropped.${reason}`, message);
    return;
  }
  // The ids are the default's alone: a callback of the user's gets the source, as its type says.
  // At most a column's length, so that what a waiting call holds stays bounded: a GUID has 36 characters.
  const correlationId = ask(options.correlationId, defaultCorrelationId, 'string', source, identity as Identity, stats, warn, 'correlationId', sourceOnly, MAX_TEXT_LENGTH);
  for (const [name, time, fields] of kpis) {
    const millis = hrTimeToMillis(time);
    if (!name || name === UNSERIALIZABLE) stats.dropped.missing_kpi_name++;
    else if (!isDataverseTime(millis)) {
      stats.dropped.invalid_timestamp++;
      // Counts came before, so a source that throws now is named as one that cannot be read, not counted again.
      let where = 'a source that cannot be read';
      try {
        where = label();
      } catch {
        // Said as above.
      }
      warn?.('dropped.invalid_timestamp', `KPI events dropped: ${where} has '${name}' at a time Dataverse cannot store.`);
    } else {
      const event: CifKpiEvent = { kpiEventName: cut(name, MAX_TEXT_LENGTH, 'kpiEventName', stats), eventTimestamp: toIsoTimestamp(millis) };
      // Field by field: a store under a computed name took longer than the rest of the payload.
      const [reason, additionalData, action, externalId, custom] = fields;
      if (reason !== undefined) event.kpiEventReason = cut(reason, MAX_TEXT_LENGTH, 'kpiEventReason', stats);
      if (additionalData !== undefined) event.additionalData = cut(additionalData, MAX_ADDITIONAL_DATA_LENGTH, 'additionalData', stats);
      if (action !== undefined) event.notificationResponseAction = cut(action, MAX_TEXT_LENGTH, 'notificationResponseAction', stats);
      if (externalId !== undefined) event.externalCorrelationId = cut(externalId, MAX_TEXT_LENGTH, 'externalCorrelationId', stats);
      // Counted only when some: most KPI events leave nothing out, and the store cost more than the rest of this line.
      const unreadable = (fields[5] ?? 0) + (identityReads[5] ?? 0);
      if (unreadable) stats.droppedFields.unserializable_value += unreadable;
      if (fields[6]) {
        stats.droppedFields.invalid_custom_column += fields[6];
        warn?.('droppedFields.invalid_custom_column', `'${fields[7]}' left out: it names no field or custom column of msdyn_kpieventdata.`);
      }
      if (custom) {
        // Made at its length: an array grown from empty holds room for 16 columns while the call waits.
        const customData: CifCustomData[] = (event.customData = new Array(custom.size));
        let i = 0;
        custom.forEach((value, attribute) => (customData[i++] = { attribute, value: cut(value, MAX_TEXT_LENGTH, 'customData', stats) }));
      }
      // An old host stored it as the KPI event's name: cut to that column, as kpiEventName is.
      const eventName = cut(ask(options.eventName, defaultEventName, 'string', event, source, stats, warn, 'eventName', shownCopy), MAX_TEXT_LENGTH, 'kpiEventName', stats);
      // Each payload made once, field by field: `Object.assign` or a spread of the identity made
      // payloads that hold 16 B more, or took many times longer. The identity, then the events.
      const data = { conversationId: identity.conversationId, providerSessionId: identity.providerSessionId } as CifAnalyticsData;
      if (identity.clientSessionId !== undefined) data.clientSessionId = identity.clientSessionId;
      if (identity.participantId !== undefined) data.participantId = identity.participantId;
      data.events = [event];
      out.push([millis, { data, eventName, correlationId }]);
    }
  }
}

/** A copy of a KPI event, its custom columns too, for a callback of the user's to change: what it changes is not sent. */
function shownCopy<S>(event: CifKpiEvent, source: S): [CifKpiEvent, S] {
  const copy = { ...event };
  if (copy.customData) copy.customData = copy.customData.map((column) => ({ ...column }));
  return [copy, source];
}

/** The source alone, for a callback whose type takes nothing else. */
const sourceOnly = <S>(source: S): [S] => [source];

function cut(value: string, max: number, payloadField: keyof MappingStats['truncated'], stats: MappingStats): string {
  if (value.length <= max) return value;
  stats.truncated[payloadField]++;
  return truncate(value, max);
}

/** The KPI event's own name. */
export function defaultEventName(kpiEvent: CifKpiEvent): string {
  return kpiEvent.kpiEventName;
}

/**
 * Asks a callback the user passed as option `name`, with the arguments `show` makes of `a` and `b`
 * where given. A throw, or an answer that is not of the `type` its default gives (or is an empty
 * string, or one over `max` characters), is counted in `callbackErrors`, told to `warn` and gets
 * `fallback`'s answer. The default itself runs unguarded: when it throws, the source cannot be
 * read, which is the source's fault.
 */
export function ask<A, B, R extends boolean | string>(
  callback: (a: A, b: B) => unknown,
  fallback: (a: A, b: B) => R,
  type: 'boolean' | 'string',
  a: A,
  b: B,
  stats: MappingStats,
  warn: MappingWarn | undefined,
  name: string,
  show?: (a: A, b: B) => unknown[],
  max = Infinity,
): R {
  if (callback === fallback) return fallback(a, b);
  let why: string;
  try {
    const value = show ? (callback as (...args: unknown[]) => unknown)(...show(a, b)) : callback(a, b);
    if (typeof value === type && value !== '' && !((value as string).length > max)) return value as R;
    why = value === '' ? 'returned an empty string' : typeof value === type ? `returned a string over ${max} characters` : `returned ${typeof value}, not ${type}`;
    // A promise (an async callback) is no answer.
    caught(value);
  } catch (error) {
    why = `threw: ${reasonText(error)}`;
  }
  stats.callbackErrors++;
  warn?.('callbackErrors', `The \`${name}\` callback ${why}; its default was used.`);
  return fallback(a, b);
}

/**
 * Dataverse keeps milliseconds: the rest of the nanoseconds is dropped, not rounded. A time that
 * cannot be read, or is no pair of numbers, is none; one out of range comes out as it is (`isDataverseTime` tells), or `NaN`.
 */
export function hrTimeToMillis(time: HrTime): number | undefined {
  try {
    // Its own values alone: a hole, or an index past a short array, is read through Array.prototype.
    const seconds = own(time, '0');
    const nanos = own(time, '1');
    if (typeof seconds === 'number' && typeof nanos === 'number') return seconds * 1000 + Math.floor(nanos / 1e6);
  } catch {
    // No time, as one of another shape.
  }
  return undefined;
}
