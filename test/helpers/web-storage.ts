import type { CifCall } from '../../src/types.js';
import type { OutboxLocks, OutboxStore } from '../../src/delivery/outbox.js';

/** Page ids of simulated pages of one widget (UUIDs, as the outbox makes them). */
export const PAGE_A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
export const PAGE_B = 'bbbbbbbb-bbbb-4bbb-bbbb-bbbbbbbbbbbb';

/** A call of one KPI event named `name`, with ids of its own. */
export function call(name: string): CifCall {
  return {
    data: { conversationId: 'conv-1', providerSessionId: 'prov-1', events: [{ kpiEventName: name, eventTimestamp: '2026-11-25T10:15:30.123Z' }] },
    eventName: name,
    correlationId: `corr-${name}`,
  };
}

/** A Web Storage stand-in over a Map, in insertion order; with `quotaBytes`, writes past it throw as browsers do. */
export class MemoryStore implements OutboxStore {
  readonly items = new Map<string, string>();

  constructor(private readonly quotaBytes = Infinity) {}

  get length(): number {
    return this.items.size;
  }

  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null;
  }

  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }

  setItem(key: string, value: string): void {
    const others = [...this.items].filter(([k]) => k !== key);
    const bytes = others.reduce((sum, [k, v]) => sum + 2 * (k.length + v.length), 2 * (key.length + value.length));
    if (bytes > this.quotaBytes) throw new DOMException('quota exceeded', 'QuotaExceededError');
    this.items.set(key, String(value));
  }

  removeItem(key: string): void {
    this.items.delete(key);
  }

  /** The entries, parsed where they are JSON, for whole-store comparisons. */
  contents(): Record<string, unknown> {
    return Object.fromEntries([...this.items].map(([key, value]) => [key, parse(value)]));
  }
}

function parse(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/**
 * A page's view of a shared lock manager; `crash()` ends the page without letting it dispose of anything;
 * `takeBack()` lets go of every lock the page holds, as WebKit does to a page that goes into the back/forward cache,
 * and returns what tells the page, as WebKit does once the page is restored: it rejects their requests with an `AbortError`.
 */
export interface LockClient {
  readonly locks: OutboxLocks;
  crash(): void;
  takeBack(): () => void;
}

interface LockRequest {
  name: string;
  client: { crashed: boolean };
  callback: (lock: object | null) => unknown;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
  /** Takes the request's abort listener away: a request granted can no longer be taken back. */
  granted?: () => void;
}

/**
 * A Web Locks stand-in shared by simulated pages: exclusive locks, granted in request order, one
 * microtask after they are free; `ifAvailable` gets null when the lock is held or asked for;
 * `signal` takes a waiting request back with an `AbortError`. A page's locks are released when it
 * crashes, and its callbacks never run again.
 */
export function createLockManager() {
  const held = new Map<string, LockRequest>();
  const queues = new Map<string, LockRequest[]>();
  const clients: Array<{ crashed: boolean }> = [];

  function grantNext(name: string): void {
    if (held.has(name)) return;
    const request = queues.get(name)?.shift();
    if (!request) return;
    held.set(name, request);
    request.granted?.();
    queueMicrotask(() => {
      if (request.client.crashed) return;
      let result: unknown;
      try {
        result = request.callback({ name, mode: 'exclusive' });
      } catch (error) {
        release(request);
        return request.reject(error);
      }
      Promise.resolve(result).then(
        (value) => (release(request), request.resolve(value)),
        (error: unknown) => (release(request), request.reject(error)),
      );
    });
  }

  function release(request: LockRequest): void {
    if (held.get(request.name) !== request) return;
    held.delete(request.name);
    grantNext(request.name);
  }

  return {
    /** Names of the locks held right now. */
    held: () => [...held.keys()],
    /** Names of the locks asked for and not yet granted, once per request. */
    waiting: () => [...queues.values()].flatMap((queue) => queue.map((request) => request.name)),
    client(): LockClient {
      const client = { crashed: false };
      clients.push(client);
      const locks: OutboxLocks = {
        request(name, options, callback) {
          return new Promise((resolve, reject) => {
            if (client.crashed) return;
            if (options.signal?.aborted) return reject(new DOMException('aborted', 'AbortError'));
            const queue = queues.get(name) ?? [];
            queues.set(name, queue);
            if (options.ifAvailable && (held.has(name) || queue.length > 0)) {
              queueMicrotask(() => {
                if (client.crashed) return;
                try {
                  resolve(callback(null));
                } catch (error) {
                  reject(error);
                }
              });
              return;
            }
            const request: LockRequest = { name, client, callback, resolve, reject };
            queue.push(request);
            const { signal } = options;
            const abort = (): void => {
              const index = queue.indexOf(request);
              if (index < 0) return;
              queue.splice(index, 1);
              reject(new DOMException('aborted', 'AbortError'));
            };
            signal?.addEventListener('abort', abort);
            request.granted = () => (signal as AbortSignal | undefined)?.removeEventListener('abort', abort);
            grantNext(name);
          });
        },
      };
      return {
        locks,
        crash() {
          client.crashed = true;
          for (const queue of queues.values()) {
            for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.client === client) queue.splice(i, 1);
          }
          for (const request of [...held.values()]) if (request.client === client) release(request);
        },
        takeBack() {
          const taken = [...held.values()].filter((request) => request.client === client);
          taken.forEach(release);
          return () => taken.forEach((request) => request.reject(new DOMException('Promise was rejected because the browsing context is going away', 'AbortError')));
        },
      };
    },
  };
}
