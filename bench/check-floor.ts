/**
 * `checkFloor` in a process of its own, run by bench/run.ts before it times anything: the check
 * sends through exporters with other hosts and data formats, and in the timing process that made
 * `export()`'s call sites polymorphic and measured it about twice as slow, while the floor stayed
 * as it was. Prints the number of calls the exporter makes.
 */
import { checkFloor } from './floor.js';
import { recordCallSpans } from './workload.js';

const concurrency = Number(process.argv[2]);
console.log(await checkFloor(await recordCallSpans(), concurrency));
