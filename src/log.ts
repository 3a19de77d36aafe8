import { diag } from '@opentelemetry/api';

const logger = diag.createComponentLogger({ namespace: 'opentelemetry-exporter-cif' });

/** Logs through `diag`. The page's logger may throw; that must never reach the telemetry path. */
export function log(level: 'debug' | 'warn' | 'error', message: string, error?: unknown): void {
  try {
    if (error === undefined) logger[level](message);
    else logger[level](message, error);
  } catch {
    // Nothing left to tell it to.
  }
}
