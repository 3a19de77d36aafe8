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
    // A logger may answer with a promise (one that sends lines away): its rejection is not left unhandled in the page.
    const answer: unknown = logger[level](...args);
    if (answer) Promise.resolve(answer).catch(() => {});
  } catch {
    // Nothing left to tell it to.
  }
  telling = false;
}
