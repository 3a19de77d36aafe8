import { log } from './log.js';
import { MAX_TIMER_MILLIS } from './delivery/timers.js';

/** An option that takes a plain value: its default, the test a value given must pass, and what it must be. */
export type Rule = readonly [fallback: unknown, test: (value: never) => boolean, must: string];

/** The options of one object by name: a `Rule`, or a function that validates and fills in an option of its own shape. */
export interface OptionTable {
  readonly [name: string]: Rule | ((value: never, c: Check) => unknown);
}

/** Checks the options of one constructor; every message starts with `owner`, such as `CifDelivery: option`. */
export interface Check {
  /** Throws a `TypeError` that says what to change. */
  fail(option: string, must: string, value: unknown): never;
  /** Throws unless `value` is an object (not null). */
  object(option: string, value: unknown): asserts value is object;
  /**
   * Validates the object `value` (by default `{}`) by `table` and returns it with every default
   * filled in; warns about each key not in `table`, naming the nearest (`elsewhere`: keys that are
   * options of the exporters). `prefix` names the object, such as `retry.`.
   */
  options<T>(table: OptionTable, value: unknown, prefix?: string, elsewhere?: readonly string[]): T;
}

const WHOLE = 'must be a whole number of ';

/** Whether `value` is an object (not null) whose keys can be read. */
export const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null;

/** A whole number from `min` to `max`; null, like undefined, leaves the default in place. */
const whole = (fallback: number, min: number, max: number, must: string): Rule => [
  fallback,
  (n: number | null) => n === null || (Number.isInteger(n) && n >= min && n <= max),
  must,
];

/** A whole number of at least 1. */
export const count = (fallback: number): Rule => whole(fallback, 1, Infinity, WHOLE + 'at least 1');

/** A whole number of milliseconds `setTimeout` can wait, from `min`. */
export const millis = (fallback: number, min: number): Rule =>
  whole(fallback, min, MAX_TIMER_MILLIS, `${WHOLE}milliseconds from ${min} to ${MAX_TIMER_MILLIS}`);

/** A function. */
export const callback = (fallback?: unknown): Rule => [fallback, (f) => typeof f === 'function', 'must be a function'];

export function check(owner: string): Check {
  const fail = (option: string, must: string, value: unknown): never => {
    let shown: string;
    try {
      shown = typeof value === 'string' ? `'${value.slice(0, 120)}'` : String(value);
    } catch {
      shown = typeof value;
    }
    throw new TypeError(`${owner} \`${option}\` ${must} (got ${shown}).`);
  };
  const object: Check['object'] = (option, value) => {
    if (!isObject(value)) fail(option, 'must be an object', value);
  };
  const c: Check = {
    fail,
    object,
    options(table, value = {}, prefix = '', elsewhere = []) {
      object(prefix.slice(0, -1) || 'options', value);
      const given = value as Record<string, unknown>;
      const names = Object.keys(table);
      // A misspelt option would otherwise silently leave its default in place.
      for (const key of Object.keys(given)) {
        if (names.includes(key)) continue;
        const nearest = names.reduce((near, name) => (editDistance(key, name) < editDistance(key, near) ? name : near));
        log(
          'warn',
          elsewhere.includes(key)
            ? `${owner} \`${key}\` is an option of the exporters, not of CifDelivery, and is ignored here.`
            : `${owner} \`${prefix}${key}\` is unknown and ignored; did you mean \`${prefix}${nearest}\`?`,
        );
      }
      const normalized: Record<string, unknown> = {};
      for (const name of names) {
        const rule = table[name]!;
        let value = given[name];
        if (typeof rule === 'function') {
          value = rule(value as never, c);
        } else {
          const [fallback, test, must] = rule;
          if (value !== undefined && !test(value as never)) fail(prefix + name, must, value);
          value ??= fallback;
        }
        if (value !== undefined) normalized[name] = value;
      }
      return normalized as never;
    },
  };
  return c;
}

/** Levenshtein distance, case-insensitive: the fewest one-character edits from `a` to `b`. */
export function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}
