import { log } from './log.js';
import { MAX_TIMER_MILLIS } from './delivery/timers.js';
import { hasOwnProperty } from './mapping/values.js';

/**
 * An option that takes a plain value: its default, the test a value given must pass, and what it must be;
 * without a test, the option's value read already (the shared delivery), which is not read again.
 */
type Rule = readonly [fallback: unknown, test?: (value: never) => boolean, must?: string];

/** The options of one object by name: a `Rule`, or a function that validates and fills in an option of its own shape. */
export interface OptionTable {
  readonly [name: string]: Rule | ((value: never, c: Check) => unknown);
}

/**
 * Checks the options of one constructor; every message starts with `owner`, such as `CifDelivery: option`,
 * and names the option; the option `''` is the options object itself (`CifDelivery: options must be ...`).
 */
export interface Check {
  /** Throws a `TypeError` that says what the option must be; with `cause`, that error's cause. */
  fail(option: string, must: string, value: unknown, cause?: { cause: unknown }): never;
  /** Throws unless `value` is an object of named options: not null, not an array. */
  object(option: string, value: unknown): asserts value is object;
  /** `get()`, or a `TypeError` that says `option` cannot be read when a page's getter or proxy throws. */
  read<T>(option: string, get: () => T): T;
  /**
   * Warns about each key of the object `value` not in `names`, and says so of those in `elsewhere`
   * (options of the exporters); `prefix` names the object, such as `retry.`.
   */
  known(value: object, names: readonly string[], prefix: string, elsewhere?: readonly string[]): void;
  /**
   * Validates the object `value` (by default `{}`) by `table` and returns it with every default
   * filled in; warns about each key not in `table`, and says so of those in `elsewhere` (options
   * of the exporters). `prefix` names the object, such as `retry.`.
   */
  options<T>(table: OptionTable, value: unknown, prefix?: string, elsewhere?: readonly string[]): T;
}

/** Whether `value` is an object (not null) whose keys can be read. */
export const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null;

/**
 * Whether `value` is a `Map` or reads as one (its tag says `Map`): one of another frame, as CIF's
 * answers may come from another, or a Map behind a proxy (Vue's `reactive()`) or like one
 * (MobX's `ObservableMap`). Throws where reading the tag does.
 */
export const isMap = (value: unknown): value is Map<unknown, unknown> => value instanceof Map || Object.prototype.toString.call(value) === '[object Map]';

/**
 * Whether `value` is an object of named options: not an array, whose keys are indexes, nor a Map
 * (as CIF's `getSession` answers, of any frame), whose entries are no keys, nor a revoked proxy, which cannot be told apart.
 */
export const isRecord = (value: unknown): value is object => {
  let record = false;
  try {
    record = isObject(value) && !Array.isArray(value);
    return record && !isMap(value);
  } catch {
    // A revoked proxy is none; a proxy whose tag cannot be read is read as any object, so that a getter that throws names its option.
    return record;
  }
};

/** A whole number from `min` to `max`; null, like undefined, leaves the default in place. */
const whole = (fallback: number | undefined, min: number, max: number, must: string): Rule => [
  fallback,
  (n: number | null) => n === null || (Number.isInteger(n) && n >= min && n <= max),
  'must be a whole number of ' + must,
];

/** A whole number of at least 1. */
export const count = (fallback: number): Rule => whole(fallback, 1, Infinity, 'at least 1');

/** A whole number of milliseconds `setTimeout` can wait, from `min`. */
export const millis = (fallback: number | undefined, min: number): Rule =>
  whole(fallback, min, MAX_TIMER_MILLIS, `milliseconds from ${min} to ${MAX_TIMER_MILLIS}`);

/** A function. */
export const callback = (fallback?: unknown): Rule => [fallback, (f) => typeof f === 'function', 'must be a function'];

/**
 * `object[key]`, inherited too, but not a value every object inherits: a page library may add keys to Object.prototype.
 * An own value is the object's, whatever Object.prototype holds.
 */
export function given(object: object, key: string): unknown {
  const value = (object as Record<string, unknown>)[key];
  // Object.prototype itself, not a new `{}`: this runs for each span a session processor stamps.
  return value === (Object.prototype as Record<string, unknown>)[key] && !hasOwnProperty.call(object, key) ? undefined : value;
}

/** `String(value)` for a message, an array in brackets; a value whose conversion throws (a symbol, a hostile object) is shown by its type. */
export function shown(value: unknown): string {
  try {
    return Array.isArray(value) ? `[${String(value)}]` : String(value);
  } catch {
    return typeof value;
  }
}

export function check(owner: string): Check {
  const fail = (option: string, must: string, value: unknown, cause?: { cause: unknown }): never => {
    throw new TypeError(`${option ? `${owner} \`${option}\`` : `${owner}s`} ${must} (got ${typeof value === 'string' ? `'${value.slice(0, 120)}'` : shown(value)}).`, cause);
  };
  const object: Check['object'] = (option, value) => {
    if (!isRecord(value)) fail(option, 'must be a plain object', value);
  };
  const read = <T>(option: string, get: () => T): T => {
    try {
      return get();
    } catch (error) {
      // The page's error as the cause, for a debugger to follow.
      return fail(option, 'cannot be read', error, { cause: error });
    }
  };
  const known: Check['known'] = (value, names, prefix, elsewhere = []) => {
    // A misspelt option would otherwise silently leave its default in place.
    for (const key of read(prefix.slice(0, -1), () => Object.keys(value))) {
      if (!names.includes(key)) {
        log('warn', `${owner} \`${prefix}${key}\` is ${elsewhere.includes(key) ? 'an option of the exporters' : 'unknown'} and ignored.`);
      }
    }
  };
  const c: Check = {
    fail,
    object,
    read,
    known,
    options(table, value = {}, prefix = '', elsewhere) {
      object(prefix.slice(0, -1), value);
      const names = Object.keys(table);
      // No prototype: an option left out without a default reads as undefined, whatever a page library adds to Object.prototype.
      const normalized = Object.create(null) as Record<string, unknown>;
      known(value, names, prefix, elsewhere);
      for (const name of names) {
        const rule = table[name]!;
        // Destructured, as a rule without a test is shorter than three: an index past it would be read through Array.prototype.
        const [fallback, test, must] = typeof rule === 'function' ? [] : rule;
        let option = typeof rule === 'function' || test ? read(prefix + name, () => given(value, name)) : undefined;
        if (typeof rule === 'function') {
          option = rule(option as never, c);
        } else {
          if (option !== undefined && !read(prefix + name, () => test!(option as never))) fail(prefix + name, must!, option);
          option ??= fallback;
        }
        if (option !== undefined) normalized[name] = option;
      }
      return normalized as never;
    },
  };
  return c;
}
