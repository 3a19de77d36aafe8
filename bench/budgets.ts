/** The limits `npm run bench:check` holds the exporter to. Each compares against an anchor measured in the same run. */
export const BUDGETS = {
  /** The mapping (`spansToCalls`) is at least this many times faster than OTLP's JsonTraceSerializer. */
  mappingSpeedupOverOtlp: 5,
  /** Mapping plus `JSON.stringify` of its payloads costs at most this many times `JSON.stringify` alone. */
  mappingAndStringifyOverFloor: 3,
  /** Target for the main entry, minified and gzipped, OpenTelemetry external. */
  mainEntryGzipBytes: 3 * 1024,
  /**
   * Heap growth allowed between the first and the last measured round of 100 000 KPI events.
   * After warm-up, the heap still moves by up to about 25 KiB as V8 recompiles code (a heap
   * snapshot diff shows only code and deoptimisation data growing); anything the exporter kept
   * per KPI event (500 000 of them between the compared rounds) would exceed 64 KiB many times over.
   */
  heapGrowthBytes: 64 * 1024,
} as const;
