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
        // A `Map` as its entries, which JSON would write as `{}`, and no key can make collide.
        const object: object | null = value instanceof Map ? [...value] : value;
        // Throws for cycles, bigints inside maps, and values whose reading throws.
        if (object !== null && (Array.isArray(object) ? object.length : Object.keys(object).length) > 0) {
          // Bytes in base 64, a `Map` inside as its entries, a number JSON cannot write (NaN, Infinity) as it reads alone, not as null.
          const text = toJson(object, (item) =>
            item instanceof Uint8Array ? toBase64(item) : item instanceof Map ? [...item] : typeof item === 'number' && !Number.isFinite(item) ? String(item) : item,
          );
          // A map whose every value JSON leaves out (undefined, which the logs SDK takes, or functions) is as empty.
          if (text !== '{}') return text;
        }
      } catch {
        return UNSERIALIZABLE;
      }
  }
  return undefined;
}

/**
 * `JSON.stringify(value)`, each value passed through `replace` when given, that writes arrays and
 * plain objects as they are where a page library gave them a `toJSON` (Prototype.js 1.6 gave
 * arrays one that writes a string; one on `Object.prototype`, which arrays inherit, reaches both).
 * Throws where it writes no text: a value JSON leaves out, or the page's replacement answering another thing.
 */
export function toJson(value: unknown, replace?: (item: unknown) => unknown): string {
  const text: unknown = JSON.stringify(
    value,
    replace || (Array.prototype as { toJSON?: unknown }).toJSON
      ? function (this: Record<string, unknown>, key: string, item: unknown) {
          const own = this[key];
          item = Array.isArray(own) || Object.getPrototypeOf(own ?? 0) === Object.prototype ? own : item;
          return replace ? replace(item) : item;
        }
      : undefined,
  );
  if (typeof text !== 'string') throw new TypeError('JSON.stringify wrote no text');
  return text;
}

// Byte arrays, which OpenTelemetry JS 3.x accepts as attribute values, written as OTLP/JSON does.
function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** A high surrogate starts a pair. */
const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

interface Segmenter {
  segment(text: string): { containing(at: number): { index: number; segment: string } | undefined };
}
/** The page's `Intl.Segmenter` and one made of it. */
let made: [unknown, Segmenter] | undefined;

/**
 * Cuts `value` to at most `max` UTF-16 units before the character `max` falls in: a letter with its
 * marks, a flag, an emoji sequence, where the page's `Intl.Segmenter` tells (not the first, nor
 * one longer than `max`); else without splitting a surrogate pair.
 */
export function truncate(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = isHighSurrogate(value.charCodeAt(max - 1)) ? max - 1 : max;
  try {
    // ES2022's, typed here: the code is otherwise ES2020. Made once for each the page has; given what the character
    // at `max` needs to be told apart, and its length known up to `max`.
    const { Segmenter } = Intl as unknown as { Segmenter: new () => Segmenter };
    if (made?.[0] !== Segmenter) made = [Segmenter, new Segmenter()];
    const { index, segment } = made[1].segment(value.slice(0, 2 * max + 2)).containing(max)!;
    // Not at 0, nor past `max`, nor inside a surrogate pair (a page's that counts code points), nor one longer than `max`.
    if (index > 0 && index <= max && !isHighSurrogate(value.charCodeAt(index - 1)) && segment.length <= max) end = index;
  } catch {
    // No segmenter (Firefox before 125), or a page's that fails: cut as above.
  }
  // A copy, made by joining it to a space, then cut from it: V8's slice alone would keep the whole long value alive
  // for as long as the call waits. No JSON, which a page library may have replaced.
  return ` ${value.slice(0, end)}`.slice(1);
}

/**
 * A Dataverse column logical name: a publisher prefix (a letter, then 1 to 7 letters or digits),
 * an underscore, then lower-case letters, digits and underscores. Rejects `__proto__` and friends,
 * and the table's own `msdyn_` columns but its custom attributes: the payload's fields fill them
 * (an old host writes each custom column as `record[attribute] = value`), and the primary key.
 */
const COLUMN_NAME = /^(?!msdyn_(?!customattribute[1-5]$))[a-z][a-z0-9]{1,7}_[a-z0-9_]+$/;

export function isColumnName(name: string): boolean {
  return name.length <= MAX_TEXT_LENGTH && COLUMN_NAME.test(name);
}

/**
 * Whether Dataverse can store the time: a DateTime column holds 1753-01-01 to 9999-12-31, both
 * whole days. Outside are negative years and `+058889-...` (microseconds taken for milliseconds).
 */
export function isDataverseTime(millis: number | undefined): millis is number {
  // No time at all (`undefined`) compares false.
  return (millis as number) >= -6_847_804_800_000 && (millis as number) <= 253_402_300_799_999;
}

// The part up to the seconds of the last timestamp written: KPI events of a batch share minutes.
let cachedMinute = Number.NaN;
let cachedPrefix = '';

/**
 * `new Date(millis).toISOString()`, for any time a `Date` can hold. `Date` writes the part up to
 * the minute once per minute seen; seconds and milliseconds are appended directly, several times
 * faster than `toISOString` on every KPI event.
 */
export function toIsoTimestamp(millis: number): string {
  const time = Math.trunc(millis) + 0; // As `Date` clips it: toward zero, and never -0.
  const minute = Math.floor(time / 60_000);
  if (minute !== cachedMinute) {
    cachedMinute = minute;
    cachedPrefix = new Date(minute * 60_000).toISOString().slice(0, -7);
  }
  // `1ssmmm`: the leading 1 keeps the zeros of the seconds and milliseconds.
  const digits = String(100_000 + time - minute * 60_000);
  return `${cachedPrefix}${digits.slice(1, 3)}.${digits.slice(3)}Z`;
}

/**
 * A copy of `items`; of an array, its own indices alone: a hole, an index it inherits and a named
 * property are no items. An array of up to 65,535 is read index by index, never through its
 * `constructor`, which a page's subclass may give; a longer one by its own keys, at the cost of
 * what it holds, not of its length: a sparse one (`length = 2 ** 32 - 1`) read index by index
 * would hold the page for minutes.
 */
export function copied<T>(items: Iterable<T>): T[] {
  if (!Array.isArray(items)) return [...items];
  const { length } = items;
  const copy: T[] = [];
  if (length < 0x10000) {
    for (let i = 0; i < length; i++) if (hasOwnProperty.call(items, i)) copy.push(items[i]);
  } else {
    // Not `Object.keys`, which skips an own index that is not enumerable.
    for (const key of Object.getOwnPropertyNames(items)) if (+key < length && String(+key >>> 0) === key) copy.push(items[+key]);
  }
  return copy;
}

export const { hasOwnProperty } = Object.prototype;
