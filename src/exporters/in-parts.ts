import { caught } from '../log.js';

/** What a page offers the mapping of a batch in parts: tasks of their own, and word that it hides or goes. */
interface PageTarget {
  addEventListener?(type: string, listener: () => void): void;
  removeEventListener?(type: string, listener: () => void): void;
}

interface PageGlobals extends PageTarget {
  setImmediate?: (task: () => void) => unknown;
  scheduler?: { postTask?: (task: () => void) => unknown };
  setTimeout?: (task: () => void) => unknown;
  document?: PageTarget & { visibilityState?: unknown };
  /** The event the page is dispatching (`window.event`). */
  event?: { type?: unknown };
}

/** The page's events after which a task asked for may never run: it hides (and may be frozen), or goes. */
const HIDING = ['visibilitychange', 'pagehide'];

/**
 * The batches of every exporter not yet mapped to the end, each by the function that maps its rest at once: true when
 * it cannot yet, as a part of it is being mapped (a callback or the diag logger asked), which then takes the rest.
 */
export const unmapped = new Set<() => boolean>();

/** Whether the page was told to call `mapAll()` when it hides or goes. */
let listening = false;

/**
 * Maps the rest of every batch at once: the page hides or goes, or an exporter flushes or shuts down. True when one
 * is being mapped, whose part under way maps its rest as it returns.
 */
export function mapAll(): boolean {
  let busy = false;
  unmapped.forEach((rest) => (busy = rest() || busy));
  return busy;
}

/** True where the page is hidden or going, or will not say, so that a task asked for may never run. */
export function hiding(): boolean {
  const page = globalThis as PageGlobals;
  try {
    // A batch exported from the page's `pagehide` listener (Safari's, with the page still visible) finds no later task.
    return page.document?.visibilityState === 'hidden' || HIDING.includes(page.event?.type as string);
  } catch {
    return true;
  }
}

/**
 * Has the page call `mapAll()` when it hides or goes (`on`), or no longer; false where it will
 * not. `visibilitychange` goes to the document, `pagehide` to the window.
 */
export function listen(on: boolean): boolean {
  const page = globalThis as PageGlobals;
  try {
    if (on !== listening) for (const target of [page, page.document]) for (const type of HIDING) target?.[on ? 'addEventListener' : 'removeEventListener']?.(type, mapAll);
    listening = on;
    return true;
  } catch {
    return false;
  }
}

/**
 * The page's ways to a task of its own, as they were when the library loaded: fake timers that a
 * test installs later (`@sinonjs/fake-timers`, Jest's) do not hold the parts back.
 */
export const tasks: Pick<PageGlobals, 'setImmediate' | 'scheduler' | 'setTimeout'> = (() => {
  try {
    const { setImmediate, scheduler, setTimeout } = globalThis as PageGlobals;
    return { setImmediate, scheduler, setTimeout };
  } catch {
    return {};
  }
})();

/**
 * Runs `task` in a task of its own, soon: by `setImmediate` in Node, `scheduler.postTask` where
 * the browser has it (Chromium, Firefox), else by `setTimeout`; each runs its tasks in the order
 * asked for. Throws what the page's functions throw, or where it has none.
 */
export function inNextTask(task: () => void): void {
  const { setImmediate, scheduler, setTimeout } = tasks;
  if (typeof setImmediate === 'function') return void setImmediate(task);
  if (typeof scheduler?.postTask === 'function') return caught(scheduler.postTask(task));
  setTimeout!(task);
}
