import { diag } from '@opentelemetry/api';

/** The package's name, which its diag lines and context key carry. */
export const NAMESPACE = 'opentelemetry-exporter-cif';

const logger = diag.createComponentLogger({ namespace: NAMESPACE });

type Line = [level: 'debug' | 'warn' | 'error', message: string, error?: unknown];

/** While a line is told, it and the lines the page's logger causes in turn (it records or exports on it), told in order. */
let lines: Line[] | undefined;
/** Whether a line caused is being told. */
let deep: boolean | undefined;

/**
 * Logs through `diag`, with the error given, if any. The page's logger may throw; that must never
 * reach the telemetry path. A logger that records or exports on a line may cause other lines
 * before it returns: they are told after it. Of what those cause in turn only warnings are told,
 * so that a warning said once is said, and lines cannot cause lines without end: each warning
 * is said once, and the rest is counted, not told.
 */
export function log(...line: Line): void {
  if (lines) return void ((!deep || line[0] === 'warn') && lines.push(line));
  lines = [line];
  deep = false;
  for (const next of lines) {
    tell(next);
    deep = true;
  }
  lines = undefined;
}

/** What has been warned of, by what: each once, then told at DEBUG. */
export type Warned<K extends string = string> = Partial<Record<K, true>>;

/**
 * Says `message` at WARN, ending with `first`, the first time `what` is said, and at DEBUG, ending
 * with `later`, after. Marked before it is said, so that a logger that causes the same line as it
 * is told is not warned again.
 */
export function sayOnce<K extends string>(warned: Warned<K>, what: K, message: string, first: string, later = '.'): void {
  const again = warned[what];
  warned[what] = true;
  log(again ? 'debug' : 'warn', message + (again ? later : first));
}

function tell([level, ...args]: Line): void {
  try {
    // A logger may answer with a promise (one that sends lines away).
    caught(logger[level](...args));
  } catch {
    // Nothing left to tell it to.
  }
}

/**
 * Catches the rejection of what the page's code answered, should it be a promise (an async
 * callback, logger or sampler), which would else be left unhandled in the page; `onRejected` gets
 * the reason. Never throws.
 */
export function caught(answer: unknown, onRejected: (reason: unknown) => void = () => {}): void {
  try {
    // Only a thenable: a span's addEvent or setAttribute answers with the span, which needs no promise of its own.
    let then: unknown;
    try {
      then = (answer as { then?: unknown } | null | undefined)?.then;
    } catch (error) {
      return onRejected(error);
    }
    if (typeof then === 'function') Promise.resolve(answer).catch(onRejected);
  } catch {
    // A promise whose constructor cannot be read: nothing can be caught of it.
  }
}
