import { diag } from '@opentelemetry/api';

/** The package's name, which its diag lines and context key carry. */
export const NAMESPACE = 'opentelemetry-exporter-cif';

const logger = diag.createComponentLogger({ namespace: NAMESPACE });

/** Logs through `diag`. The page's logger may throw; that must never reach the telemetry path. */
export function log(level: 'debug' | 'warn' | 'error', message: string, error?: unknown): void {
  try {
    if (error === undefined) logger[level](message);
    else logger[level](message, error);
  } catch {
    // Nothing left to tell it to.
  }
}
