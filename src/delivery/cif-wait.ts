/** The end of a wait for CIF: what becomes of the calls whose wait ran out. */
import type { DeliveryDropReason } from '../stats.js';
import { log } from '../log.js';
import type { Job, JobTable } from './jobs.js';
import type { CifReadiness } from './readiness.js';

/**
 * Calls whose wait for CIF ran out by `now` go without `CIFInitDone` if the library is there (they
 * become due), else `settle` gives them up as `cif_not_loaded`. Nothing changes once CIF is ready.
 */
export function readyTimeUp(
  readiness: CifReadiness,
  jobs: JobTable,
  now: number,
  readyTimeoutMillis: number,
  settle: (job: Job, error: Error, reason: DeliveryDropReason) => void,
): void {
  const present = readiness.lastChance();
  if (present) log('debug', 'calling without CIFInitDone after readyTimeoutMillis');
  if (readiness.current() === 'ready') return;
  const error = readiness.error(readyTimeoutMillis);
  for (const job of jobs.waiting.takeWhere((job) => job.readyBy <= now)) {
    if (present) jobs.put(job, 'due');
    else settle(job, error, 'cif_not_loaded');
  }
}
