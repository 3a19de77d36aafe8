import { given, isMap, isObject, shown } from '../validate.js';
import type { Attributes, TimeInput } from '@opentelemetry/api';
import { hrTime, isAttributeValue, millisToHrTime } from '@opentelemetry/core';
import { log, sayOnce, type Warned } from '../log.js';
import { ATTR_CIF_KPI_NAME, CIF_KPI_CUSTOM_PREFIX } from '../attributes.js';
import { KPI_FIELDS, own } from '../mapping/kpi-fields.js';
import { copied, toPayloadString } from '../mapping/values.js';

const { toString } = Object.prototype;

/** The optional fields of a KPI event recorded with `recordKpiEvent` or `emitKpiEvent`. */
export interface CifKpiEventDetails {
  /** `kpiEventReason`. */
  reason?: string | undefined;
  /** `additionalData`, up to 2000 characters; JSON text is common. */
  additionalData?: string | undefined;
  /** `notificationResponseAction`: `'accepted'`, `'rejected'` or a value of your own. */
  notificationResponseAction?: 'accepted' | 'rejected' | (string & {}) | undefined;
  /** `externalCorrelationId`: the id of this event in the provider's own system. */
  externalCorrelationId?: string | undefined;
  /**
   * `customData`, by column logical name of `msdyn_kpieventdata`: an object, or a `Map`.
   * @example { msdyn_customattribute1: 'billing' }
   */
  customData?: Record<string, string | number | boolean> | ReadonlyMap<string, string | number | boolean> | undefined;
}

/** Whether a details value was left out for want of text, or a key for naming no detail: each warned of once, then told at DEBUG. */
const leftOut: Warned<'value' | 'key'> = {};

/**
 * The attributes of one KPI event, on a span event or a log record. Throws only if `details` does.
 * A name without text is written empty, so that the exporter counts it as missing,
 * `recordedKpiEventsOnly` or not.
 */
export function kpiEventAttributes(name: string, details?: CifKpiEventDetails): Attributes {
  const attributes: Attributes = { [ATTR_CIF_KPI_NAME]: attributeValue(name) ?? '' };
  // A value given (not undefined) with no text is said to be left out.
  const set = (key: string, value: unknown, option: string): void => {
    const text = attributeValue(value);
    if (text !== undefined) attributes[key] = text;
    else if (value !== undefined) sayOnce(leftOut, 'value', `KPI event '${shown(name)}': \`${option}\` has no text to send; it is left out`, '. Shown once.');
  };
  if (isObject(details)) {
    const options: string[] = [];
    for (const [field, key] of KPI_FIELDS) {
      const option = field === 'kpiEventReason' ? 'reason' : field;
      options.push(option);
      set(key, given(details, option), option);
    }
    options.push('customData');
    // A key of no detail (a payload field's name, as `kpiEventReason`, or a typo) is said, as plain JavaScript has no type to catch it.
    try {
      const unknown = Object.keys(details).find((key) => !options.includes(key));
      if (unknown !== undefined) sayOnce(leftOut, 'key', `KPI event '${shown(name)}': \`${unknown}\` names no detail (${options.join(', ')}); it is left out`, '. Shown once.');
    } catch {
      // Keys that cannot be listed: what could be read is sent.
    }
    const customData = given(details, 'customData');
    // A Map's entries too, as CIF's own APIs answer with Maps.
    if (isObject(customData)) {
      // A Map of any frame; a key that is no string (a symbol, an array, an object of no text, named by its type) becomes a
      // column name the exporter refuses and counts.
      const columns = isMap(customData) ? customData : Object.entries(customData);
      for (const [key, value] of columns) {
        const column = shown(key);
        set(CIF_KPI_CUSTOM_PREFIX + column, value, `customData.${column}`);
      }
    }
  }
  return attributes;
}

/**
 * A value as a span attribute holds it: an object or an array of mixed values (from an untyped
 * caller), which the trace SDK would leave out, as JSON text, as the exporter writes it; a `Map`
 * as the JSON of its entries, which no key can make collide or fail; a `Date` as its ISO time.
 * One without text (a function, an invalid `Date`, an empty object, a cycle, a getter that throws)
 * is none: never handed to an SDK, as the logs SDK reads what it is given and may throw.
 */
function attributeValue(input: unknown): Attributes[string] {
  try {
    // An array read once, by its own items (a hole is none), as the SDKs read what they are handed again; a sparse one
    // at the cost of what it holds. A revoked proxy throws at the first look.
    const value = Array.isArray(input) ? copied(input) : input;
    if (isAttributeValue(value)) return value;
    const text = toString.call(value) === '[object Date]' ? (value as Date).toISOString() : toPayloadString(isMap(value) ? [...value] : value);
    if (typeof text === 'string') return text;
  } catch {
    // No text, as below.
  }
  return undefined;
}

/**
 * A time as the SDKs take it: a `Date`, which fails their `instanceof Date` if it is of another
 * frame, made again in this one; a number as an `HrTime`, epoch milliseconds, but within 1e11 of 0
 * (1966 to 1973) a `performance.now()` reading, as OpenTelemetry reads one, negative too (before the
 * page loaded); one before 1966 stays a date, so that a time Dataverse cannot store is still told: the SDKs draw that line
 * elsewhere (the logs SDK at half the page's time origin, so 1990 became 2047); anything but a
 * number, a `Date` or an `HrTime` of two numbers, or a value whose reading throws, is none (now).
 */
export function timeInput(time: unknown): TimeInput | undefined {
  try {
    if (typeof time === 'number') return Math.abs(time) < 1e11 ? hrTime(time) : millisToHrTime(time);
    // A `Date` of any frame; not what passes `instanceof Date` alone (a proxy of one, an object made from `Date.prototype`), which holds no time.
    if (toString.call(time) === '[object Date]') return new Date(+(time as Date));
    // An `HrTime` read once, its own values alone, as the SDKs read what they are handed again.
    if (Array.isArray(time) && time.length === 2) {
      const seconds = own(time, '0');
      const nanos = own(time, '1');
      if (typeof seconds === 'number' && typeof nanos === 'number') return [seconds, nanos];
    }
  } catch {
    // None, as a value of another kind.
  }
  return undefined;
}

/**
 * What a writer of KPI events has warned of, each once per page, as its fix is the same for every
 * KPI event: `absent`, no span or logger to write to; `lost`, written, but its span is not exported
 * or its logger not enabled.
 */
export type WriterWarned = Warned<'absent' | 'lost'>;

/**
 * Writes the KPI event `name` with `write`, which calls `reach` as it hands the KPI event over, and
 * says false when there is nothing to write to: then a warning says it was not `verb` because
 * `absent`, once (`warned`). Never throws, whatever the caller passed: instrumenting a widget must
 * not break it.
 */
export function writeKpiEvent(name: string, write: (reach: () => void) => boolean, verb: string, absent: string, warned: WriterWarned): void {
  // Whether `write` reached the span or logger: then a throw may come after it was written (a processor registered after the exporter's).
  let reached = false;
  try {
    if (!write(() => (reached = true))) sayOnce(warned, 'absent', `KPI event '${shown(name)}' not ${verb}: ${absent}`, '. Shown once.');
  } catch (error) {
    log('error', `KPI event '${shown(name)}' ${reached ? 'may not be' : 'not'} ${verb}`, error);
  }
}
