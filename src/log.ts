import { diag } from '@opentelemetry/api';

/** The package's name, which its diag lines and context key carry. */
export const NAMESPACE = 'opentelemetry-exporter-cif';

const logger = diag.createComponentLogger({ namespace: NAMESPACE });

/** Logs through `diag`, with the error given, if any. The page's logger may throw; that must never reach the telemetry path. */
export function log(level: 'debug' | 'warn' | 'error', ...args: [message: string, error?: unknown]): void {
  try {
    logger[level](...args);
  } catch {
    // Nothing left to tell it to.
  }
}
