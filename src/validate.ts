import { log } from './log.js';
import { MAX_TIMER_MILLIS } from './delivery/timers.js';

/** Checks the options of one constructor; every message starts with `owner`, such as `CifDelivery: option`. */
export interface Check {
  /** Throws a `TypeError` that says what to change. */
  fail(option: string, rule: string, value: unknown): never;
  /** A whole number of at least 1, `fallback` when not given. */
  count(option: string, value: number | undefined, fallback: number): number;
  /** A whole number of milliseconds `setTimeout` can wait, from `min`. */
  millis(option: string, value: number | undefined, fallback: number, min: number): number;
  /** Throws unless `value` is an object; warns about each key not in `names`, naming the nearest (`elsewhere`: keys to point to another owner). */
  object(option: string, value: unknown, names: readonly string[], prefix?: string, elsewhere?: readonly string[]): void;
  /** A function, or undefined. */
  callback<F>(option: string, value: F | undefined): F | undefined;
}

export function check(owner: string): Check {
  const fail = (option: string, rule: string, value: unknown): never => {
    let shown: string;
    try {
      shown = typeof value === 'string' ? `'${value.slice(0, 120)}'` : String(value);
    } catch {
      shown = typeof value;
    }
    throw new TypeError(`${owner} \`${option}\` ${rule} (got ${shown}).`);
  };
  return {
    fail,
    count(option, value, fallback) {
      const n = value ?? fallback;
      if (!Number.isInteger(n) || n < 1) fail(option, 'must be a whole number of at least 1', n);
      return n;
    },
    millis(option, value, fallback, min) {
      const n = value ?? fallback;
      if (!Number.isInteger(n) || n < min || n > MAX_TIMER_MILLIS) {
        fail(option, `must be a whole number of milliseconds from ${min} to ${MAX_TIMER_MILLIS}`, n);
      }
      return n;
    },
    object(option, value, names, prefix = '', elsewhere = []) {
      if (typeof value !== 'object' || value === null) fail(option, 'must be an object', value);
      // A misspelt option would otherwise silently leave its default in place.
      for (const key of Object.keys(value as object)) {
        if (names.includes(key)) continue;
        if (elsewhere.includes(key)) {
          log('warn', `${owner} \`${key}\` is an option of the exporters, not of CifDelivery, and is ignored here.`);
          continue;
        }
        let nearest = names[0]!;
        for (const name of names) if (editDistance(key, name) < editDistance(key, nearest)) nearest = name;
        log('warn', `${owner} \`${prefix}${key}\` is unknown and ignored; did you mean \`${prefix}${nearest}\`?`);
      }
    },
    callback(option, value) {
      if (value !== undefined && typeof value !== 'function') fail(option, 'must be a function', value);
      return value;
    },
  };
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
