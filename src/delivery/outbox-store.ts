/** The stored format: what a key and a value of the outbox hold. */
import { toJson } from '../mapping/values.js';
import type { CifCall } from '../types.js';

/** The part of the Web Storage API the outbox uses; `localStorage` satisfies it. */
export interface OutboxStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
  key(index: number): string | null;
  readonly length: number;
}

/** A call as stored: the wall-clock millis it was first written at, and the call itself. */
interface StoredCall {
  at: number;
  call: CifCall;
}

/** One grant of a lock this page keeps: `lost` once the browser took it back while the page lives. */
export interface Hold {
  lost?: boolean;
}

/** A call the outbox keeps: its key, its place among its page's calls, and the bytes it takes while stored (0 when not). */
export interface Entry extends StoredCall {
  /** Under this page's id as it is written: a page whose lock was taken back writes under an id of its own anew. */
  key: string;
  readonly seq: number;
  /** Its KPI events, as admitted: a host that changes the payload it was handed changes no count. */
  readonly events: number;
  size: number;
  /** The page that stored it, once taken over from a page gone. */
  page?: string;
  /** Written without this page's lock, which has not come since or found it gone: a later page's, which this page never hands over. */
  given?: boolean;
  /** The grant of the lock it is stored under, this page's or a page's gone: another page's once that is lost, unless found again (see `ours`). */
  hold?: Hold;
  /** Runs each time the call is written to the store. */
  kept?: (() => void) | undefined;
}

/** Values are `[FORMAT, first written at, call]`; those of earlier formats read as unreadable, those of later ones are left alone. */
const FORMAT = 3;

/** `<pageId>/<seq>` after the outbox's `otel-cif/<name>/`; a pageId is a UUID. */
export const PAGE_AND_SEQ = /^([\da-f-]{36})\/(\d+)$/;

/** Bytes a key and its value take in Web Storage, which counts UTF-16 code units. */
export const sizeOf = (key: string, value: string): number => 2 * (key.length + value.length);

export const encode = ({ at, call }: StoredCall): string => toJson([FORMAT, at, call]);

/**
 * `JSON.parse` as the library loaded: a page library may replace it later with one that revives
 * what looks like a date (json.date-extensions' `useDateParser()`), which would send a `Date` for
 * a string the call held.
 */
const { parse } = JSON;

/** The stored call in `value`; `null` for a later format, which a later version reads; else undefined, unreadable. */
export function decode(value: string): StoredCall | null | undefined {
  // What is not JSON, not an array, has no call or data, or events that cannot be spread, throws: unreadable as the rest.
  try {
    const [format, at, call] = parse(value) as [unknown, number, CifCall];
    if (typeof format === 'number' && format > FORMAT) return null;
    const { data, eventName, correlationId } = call;
    // The data and each event a plain object, as JSON.parse makes them: not an array, a string or null.
    const plain = (value: object | null): boolean => value?.constructor === Object;
    if (format === FORMAT && Number.isFinite(at) && typeof eventName === 'string' && typeof correlationId === 'string' && data.events.length > 0 && [data, ...data.events].every(plain)) {
      return { at, call };
    }
  } catch {
    // Unreadable.
  }
  return undefined;
}
