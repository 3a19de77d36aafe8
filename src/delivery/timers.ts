/** Longest delay `setTimeout` honours; a larger one fires at once. */
export const MAX_TIMER_MILLIS = 2_147_483_647;

/** A timer handle: a number in browsers, a `Timeout` object in Node. */
export type Timer = ReturnType<typeof setTimeout>;

/**
 * `setTimeout` that does not keep a Node process alive unless `keepAlive` is set. Browsers have
 * no such notion, so there it is plain `setTimeout`. Throws what the page's `setTimeout` throws.
 */
export function startTimer(callback: () => void, millis: number, keepAlive?: boolean): Timer {
  const timer = setTimeout(callback, millis);
  // Typed as a number under the DOM library alone; a Node `Timeout` has `unref`; a page's wrapper may return nothing.
  if (!keepAlive) (timer as unknown as { unref?: () => unknown } | undefined)?.unref?.();
  return timer;
}

/** `clearTimeout` that never throws: the page owns it, and a timer left running only fires early work. */
export function stopTimer(timer: Timer | undefined): void {
  try {
    clearTimeout(timer);
  } catch {
    // The timer fires; whoever set it finds nothing due and carries on.
  }
}

/** The time `clock` (by default the wall clock) reads, or NaN where the page's throws or gives no finite number. */
export function readClock(clock: () => unknown = Date.now): number {
  try {
    const time = clock();
    if (Number.isFinite(time)) return time as number;
  } catch {
    // No time, as below.
  }
  return NaN;
}

/** `performance.timeOrigin` as last read (where it has none, the wall clock less `performance.now()`), for the wall clock to stand in on its scale. */
let timeOrigin = 0;
/** What `monotonicNow()` last answered. */
let last = 0;

/**
 * Milliseconds on a clock that neither steps back nor jumps when the wall clock is set (NTP, the
 * user): every deadline is taken on it. Read at each call, so fake timers can stand in for it.
 */
export function monotonicNow(): number {
  let now: unknown;
  try {
    const origin = performance.timeOrigin;
    if (origin) timeOrigin = origin;
    now = performance.now();
    // Without a timeOrigin (an old or stubbed performance), the wall clock at a reading that works stands in for it.
    if (!origin && Number.isFinite(now)) timeOrigin = Date.now() - (now as number);
  } catch {
    // The page replaced `performance.now` with one that throws, maybe only now and then, or took
    // `performance` away: the wall clock is the next best, on the same scale, so that deadlines
    // taken on either still compare.
  }
  // So too where a stand-in gives no finite time: deadlines would never come, or the timer would fire at once without end.
  // Where neither clock gives one (an SES compartment, without `performance`), time stands still: the delivery engine then
  // takes a deadline as come when the timer set for it fires.
  const time = Number.isFinite(now) ? (now as number) : readClock() - timeOrigin;
  return Number.isFinite(time) ? (last = time) : last;
}
