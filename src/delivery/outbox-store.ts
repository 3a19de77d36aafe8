import type { CifCall } from '../types.js';

/** The part of the Web Storage API the outbox uses; `localStorage` satisfies it. */
export interface OutboxStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
  key(index: number): string | null;
  readonly length: number;
}

/** How a write ended: `full` for the store's quota, `error` for any other throw. */
export type WriteOutcome = 'ok' | 'full' | 'error';

/** A call as stored: the wall-clock millis it was admitted at, and the call itself. */
export interface StoredCall {
  at: number;
  call: CifCall;
}

/** An entry of one page found in the store. */
export interface FoundKey {
  key: string;
  pageId: string;
  seq: number;
}

/** A call the outbox keeps: where it is or will be stored, the bytes it takes there, and whether it is there. */
export interface Entry extends StoredCall, Pick<FoundKey, 'key' | 'seq'> {
  readonly call: CifCall;
  /** Bytes it takes while stored. */
  size: number;
  state: 'pending' | 'stored' | 'out';
}

const FORMAT = 1;
/** `<pageId>/<seq>` after the outbox's `<prefix>/<name>/`; a pageId is a v4 UUID. */
const PAGE_AND_SEQ = /^([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\/(\d{1,15})$/;
/** A store may report any length; the scan reads at most this many keys (a 5 MB store holds fewer). */
const MAX_KEYS = 1_000_000;

/**
 * Store accesses that never throw: a throwing store (quota, `SecurityError`, disabled) or a
 * garbage answer is `onError`'s to count, and reads as no value.
 */
export function guardStore(store: OutboxStore, onError: (error: unknown) => void) {
  return {
    read(key: string): string | undefined {
      try {
        const value: unknown = store.getItem(key);
        return typeof value === 'string' ? value : undefined;
      } catch (error) {
        onError(error);
        return undefined;
      }
    },
    write(key: string, value: string): WriteOutcome {
      try {
        store.setItem(key, value);
        return 'ok';
      } catch (error) {
        if (isQuotaError(error)) return 'full';
        onError(error);
        return 'error';
      }
    },
    /** True once `key` is surely gone: removed, or found absent after a failed removal. */
    remove(key: string): boolean {
      try {
        store.removeItem(key);
        return true;
      } catch (error) {
        onError(error);
        try {
          return store.getItem(key) === null;
        } catch {
          return false;
        }
      }
    },
    /** The keys under `base` in this outbox's format, in store order. */
    list(base: string): FoundKey[] {
      const found: FoundKey[] = [];
      try {
        const length = Math.min(Number(store.length), MAX_KEYS);
        for (let i = 0; i < length; i++) {
          const key: unknown = store.key(i);
          if (typeof key !== 'string' || !key.startsWith(base)) continue;
          const match = PAGE_AND_SEQ.exec(key.slice(base.length));
          if (match) found.push({ key, pageId: match[1]!, seq: Number(match[2]) });
        }
      } catch (error) {
        onError(error);
      }
      return found;
    },
  };
}

export type GuardedStore = ReturnType<typeof guardStore>;

/** A write or a probe that failed for lack of room: `QuotaExceededError`, or Firefox's older name. */
function isQuotaError(error: unknown): boolean {
  try {
    const name = (error as { name?: unknown } | null)?.name;
    return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED';
  } catch {
    return false;
  }
}

/** Bytes a key and its value take in Web Storage, which counts UTF-16 code units. */
export const sizeOf = (key: string, value: string): number => 2 * (key.length + value.length);

export function encode({ at, call }: StoredCall): string {
  return JSON.stringify({ v: FORMAT, t: at, data: call.data, eventName: call.eventName, correlationId: call.correlationId });
}

/** The stored call in `value`, or undefined for anything this version did not write. */
export function decode(value: string): StoredCall | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (!isObject(parsed) || parsed['v'] !== FORMAT) return undefined;
  const { t, data, eventName, correlationId } = parsed;
  if (typeof t !== 'number' || !Number.isFinite(t) || typeof eventName !== 'string' || typeof correlationId !== 'string') {
    return undefined;
  }
  if (!isObject(data) || !Array.isArray(data['events']) || data['events'].length === 0 || !data['events'].every(isObject)) {
    return undefined;
  }
  return { at: t, call: { data: data as unknown as CifCall['data'], eventName, correlationId } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
