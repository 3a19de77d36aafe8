import { diag } from '@opentelemetry/api';

/** The package's name, which its diag lines and context key carry. */
export const NAMESPACE = 'opentelemetry-exporter-cif';

const logger = diag.createComponentLogger({ namespace: NAMESPACE });

/** Whether a line is being told: what the page's logger does with it in turn is counted, not told. */
let telling = false;

/**
 * Logs through `diag`, with the error given, if any. The page's logger may throw; that must never
 * reach the telemetry path. A logger that records or exports on a line may cause another line
 * before it returns: that one is left out, so that a line cannot cause lines without end.
 */
export function log(level: 'debug' | 'warn' | 'error', ...args: [message: string, error?: unknown]): void {
  if (telling) return;
  telling = true;
  try {
    // A logger may answer with a promise (one that sends lines away).
    caught(logger[level](...args));
  } catch {
    // Nothing left to tell it to.
  }
  telling = false;
}

/**
 * Catches the rejection of what the page's code answered, should it be a promise (an async
 * callback, logger or sampler), which would else be left unhandled in the page; `onRejected` gets
 * the reason. Never throws.
 */
export function caught(answer: unknown, onRejected: (reason: unknown) => void = () => {}): void {
  try {
    if (answer) Promise.resolve(answer).catch(onRejected);
  } catch {
    // A promise whose constructor cannot be read: nothing can be caught of it.
  }
}
