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

/** The range of a Dataverse DateTime column: 1753-01-01 to 9999-12-31, both whole days. */
const MIN_DATAVERSE_MILLIS = Date.UTC(1753, 0, 1);
const MAX_DATAVERSE_MILLIS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Whether Dataverse can store the time: outside its range are negative years and `+058889-...` (microseconds taken for milliseconds). */
export function isDataverseTime(millis: number): boolean {
  return millis >= MIN_DATAVERSE_MILLIS && millis <= MAX_DATAVERSE_MILLIS;
}

// The part before the milliseconds of the last timestamp written: KPI events of a batch share seconds.
let cachedSecond = Number.NaN;
let cachedPrefix = '';

/**
 * `new Date(millis).toISOString()`, for any time a `Date` can hold. `Date` writes the part up to
 * the second once per second seen; the milliseconds are appended directly, several times faster
 * than `toISOString` on every KPI event.
 */
export function toIsoTimestamp(millis: number): string {
  const time = Math.trunc(millis) + 0; // As `Date` clips it: toward zero, and never -0.
  const second = Math.floor(time / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, -4);
  }
  const ms = time - second * 1000;
  return `${cachedPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}
