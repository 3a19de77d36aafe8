/** Dataverse column size of every `msdyn_kpieventdata` text column but `additionalData`. */
export const MAX_TEXT_LENGTH = 100;
/** Dataverse column size of `msdyn_additionaldata`. */
export const MAX_ADDITIONAL_DATA_LENGTH = 2000;

/** Why a value could not become a payload string. */
export const UNSERIALIZABLE = Symbol('unserializable');

/**
 * An attribute value as a payload string: strings as they are, numbers and booleans with
 * `String()`, byte arrays as base64, arrays and maps as JSON (bytes inside them as base64
 * strings). Empty or absent values give `undefined`; a value that cannot be read or written
 * (revoked proxies, throwing `toJSON`, cycles) gives `UNSERIALIZABLE`. Never throws.
 */
export function toPayloadString(value: unknown): string | undefined | typeof UNSERIALIZABLE {
  switch (typeof value) {
    case 'string':
      return value === '' ? undefined : value;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'object':
      try {
        if (value instanceof Uint8Array) return value.length === 0 ? undefined : toBase64(value);
        return value === null ? undefined : toJson(value);
      } catch {
        return UNSERIALIZABLE;
      }
    default:
      return undefined;
  }
}

/** Throws for cycles, bigints inside maps, and values whose reading throws. */
function toJson(value: object): string | undefined {
  if (Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0) return undefined;
  return JSON.stringify(value, (_key, item: unknown) => (item instanceof Uint8Array ? toBase64(item) : item));
}

// Byte arrays, which OpenTelemetry JS 3.x accepts as attribute values, written as OTLP/JSON does.
function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Cuts `value` to at most `max` UTF-16 units without splitting a surrogate pair. */
export function truncate(value: string, max: number): string {
  if (value.length <= max) return value;
  const end = isHighSurrogate(value.charCodeAt(max - 1)) ? max - 1 : max;
  return value.slice(0, end);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * A Dataverse column logical name: a publisher prefix (a letter, then 1 to 7 letters or digits),
 * an underscore, then lower-case letters, digits and underscores. Rejects `__proto__` and friends.
 */
const COLUMN_NAME = /^[a-z][a-z0-9]{1,7}_[a-z0-9_]+$/;

export function isColumnName(name: string): boolean {
  return name.length <= MAX_TEXT_LENGTH && COLUMN_NAME.test(name);
}

const DAY_MILLIS = 86_400_000;
// The date part of the last timestamp written: the KPI events of a batch almost always share a day.
let cachedDay = Number.NaN;
let cachedDayPrefix = '';

/**
 * `new Date(millis).toISOString()`, for any time a `Date` can hold. Only the date part goes
 * through `Date`, once per day seen; the time of day is written directly, which is several
 * times faster than `toISOString` on every KPI event.
 */
export function toIsoTimestamp(millis: number): string {
  const time = Math.trunc(millis) + 0; // As `Date` clips it: toward zero, and never -0.
  const day = Math.floor(time / DAY_MILLIS);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDayPrefix = new Date(day * DAY_MILLIS).toISOString().slice(0, -13);
  }
  let rest = time - day * DAY_MILLIS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const ms = rest - seconds * 1000;
  return `${cachedDayPrefix}${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}
