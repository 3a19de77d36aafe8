import { CifExportError } from '../errors.js';

/** How the calls of one `deliver()` ended. */
export interface DeliveryReport {
  /** Calls handed to `deliver()`. */
  calls: number;
  /** Calls that failed for good. */
  failed: number;
  /** One error per distinct failure message, at most three, first seen first. */
  errors: Error[];
}

/** One `deliver()` until its last call settles: counts only, so a batch's size costs nothing. */
export interface Batch {
  readonly report: DeliveryReport;
  pending: number;
  readonly resolve: (report: DeliveryReport) => void;
}

const MAX_REPORTED_ERRORS = 3;

/** Counts one settled call into its batch, and resolves the batch with its last call. */
export function countSettled(batch: Batch, error: Error | undefined): void {
  const { report } = batch;
  if (error) {
    report.failed++;
    const known = report.errors.some((e) => e.message === error.message);
    if (!known && report.errors.length < MAX_REPORTED_ERRORS) report.errors.push(error);
  }
  if (--batch.pending === 0) batch.resolve(report);
}

/** The `error` of a failed export: how many calls failed, and the distinct reasons. */
export function summarize({ calls, failed, errors }: DeliveryReport): CifExportError {
  return new CifExportError(`${failed} of ${calls} logAnalyticsEvent calls failed: ${errors.map((e) => e.message).join('; ')}`, errors);
}
