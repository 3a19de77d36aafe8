/**
 * Why KPI events were not delivered. Counted in KPI events, except `invalid_span` (in spans) and
 * `sdk_event_limit` (span events of CIF spans, or of spans whose resource has a `cif.` attribute, that
 * the SDK dropped over `spanLimits.eventCountLimit`, each possibly a KPI event). These never reach delivery, nor do `missing_identity`,
 * `identity_too_long`, `missing_kpi_name` and `invalid_timestamp`; the rest are `DeliveryDropReason`s.
 */
export type CifDropReason = 'sdk_event_limit' | 'invalid_span' | MappingDropReason | DeliveryDropReason;

/**
 * Why KPI events of log records were not delivered: as for spans, with `invalid_log_record`
 * (in log records that could not be read) in place of `invalid_span` and `sdk_event_limit`.
 */
export type CifLogRecordDropReason = 'invalid_log_record' | MappingDropReason | DeliveryDropReason;

/** Why the mapping dropped a KPI event, whatever its source. */
export type MappingDropReason = 'missing_identity' | 'identity_too_long' | 'missing_kpi_name' | 'invalid_timestamp';

/** Why a call handed to delivery failed for good; every KPI event of the call is counted. */
export type DeliveryDropReason = Words<typeof DELIVERY_DROPS>;

const DELIVERY_DROPS = 'cif_not_loaded host_error timed_out queue_full after_shutdown no_timer';

/** The drop reasons of delivery, the ones in the `kpiEventsSent` balance. */
export const DELIVERY_DROP_REASONS = /* @__PURE__ */ DELIVERY_DROPS.split(' ') as readonly DeliveryDropReason[];

/** Payload fields that were cut to their Dataverse column size. */
export type CifTruncatedField =
  | 'kpiEventName'
  | 'kpiEventReason'
  | 'additionalData'
  | 'notificationResponseAction'
  | 'externalCorrelationId'
  | 'customData';

/**
 * Why a single field was left out of a KPI event that was still sent, counted once per such KPI
 * event. `sdk_attribute_limit` counts attributes the SDK dropped from CIF spans, their events and
 * CIF log records over its attribute limits, or (the 3.x trace SDK) of a type it does not keep.
 */
export type CifDroppedFieldReason = 'invalid_custom_column' | 'unserializable_value' | 'sdk_attribute_limit';

/**
 * The counters of the outbox (see docs/page-lifecycle.md), in KPI events unless said; all stay 0
 * where there is no outbox.
 */
export interface CifOutboxStats {
  /**
   * Admitted and written to the store. A call handed to the host in the task that admits it, or
   * before the page holds its outbox lock (its first milliseconds), is never written, so it is
   * counted neither here nor in `notStored` unless it is written later, to wait for a retry.
   */
  stored: number;
  /**
   * Admitted but not written then, so held in memory only: over `maxBytes` or the store's quota
   * (`full`), or the store or a lock failed (`store_error`). Each call is counted once; the outbox
   * writes it again while it waits for a retry, and stores it if that write succeeds.
   */
  notStored: { full: number; store_error: number };
  /** Stored by earlier pages that are gone, and admitted by this delivery. */
  replayed: number;
  /** Stored by earlier pages, older than `maxAgeMillis`, removed unsent. */
  expired: number;
  /** Stored entries (not KPI events) of an earlier format, or that cannot be read, removed; a later format's are left alone. */
  unreadable: number;
  /** Store or lock accesses that threw, other than for quota, and locks that ended while the page held them, not hidden. */
  storeErrors: number;
}

/** The counters of delivery, shared by the exporters that share a `CifDelivery`. */
export interface CifDeliveryStats {
  /** KPI events the mapping put in calls and handed to delivery (refused ones included). */
  kpiEventsSent: number;
  /** KPI events whose call the host resolved. */
  kpiEventsDelivered: number;
  /** KPI events in calls that are queued or in flight right now. */
  kpiEventsPending: number;
  /**
   * KPI events this page gave up on (waiting for CIF, refused at shutdown, its `setTimeout`
   * throwing, or that the store would not let go) whose calls stay in the outbox for a later page,
   * which sends them. Those given up before CIF was ready leave the count and go again, as the queue
   * has room, should CIF come while this page lives (its event, the `ready` promise, an answer).
   */
  kpiEventsKept: number;
  /** `logAnalyticsEvent` invocations, retries included. */
  callsMade: number;
  /** Of `callsMade`, the calls made again: retries, and calls failed before `CIFInitDone` made again once it came. */
  callsRetried: number;
  /** Calls that failed for good, whatever the reason (each call once, after its last attempt). */
  callsFailed: number;
  /** Of `callsFailed`, calls the host did not answer within `timeoutMillis`. */
  callsTimedOut: number;
  /** Calls waiting right now: for CIF to be ready, for a free slot, or to retry. */
  callsQueued: number;
  /** Calls the host has not answered yet, right now. */
  callsInFlight: number;
  /** Timed-out calls the host may still be running, right now; each holds a `maxConcurrentCalls` slot. */
  callsAbandoned: number;
  dropped: Record<DeliveryDropReason, number>;
  outbox: CifOutboxStats;
}

/** The counters of the mapping, each exporter its own. */
export interface CifMappingStats<R extends string> {
  /** Times an `eventFilter`, `eventName` or `correlationId` callback you passed threw or returned a bad value. */
  callbackErrors: number;
  dropped: Record<R, number>;
  truncated: Record<CifTruncatedField, number>;
  droppedFields: Record<CifDroppedFieldReason, number>;
}

/**
 * Counters of `CifSpanExporter` since it was created; `getStats()` returns a copy. KPI events
 * balance: `kpiEventsSent` + `outbox.replayed` = `kpiEventsDelivered` + `kpiEventsPending` +
 * `kpiEventsKept` + the sum of `dropped` over `cif_not_loaded`, `host_error`, `timed_out`,
 * `queue_full`, `after_shutdown` and `no_timer`. The delivery counters are those of its
 * `CifDelivery`, shared with any other exporter given the same one.
 */
export interface CifExporterStats extends Omit<CifDeliveryStats, 'dropped'>, CifMappingStats<CifDropReason> {
  /** Spans `export()` mapped: a large batch counts part by part, all of it by its callback. */
  spansSeen: number;
  /** Spans with a `cif.` attribute on the span or one of its events. */
  cifSpans: number;
}

/** Counters of `CifLogRecordExporter`, balanced as in `CifExporterStats`. */
export interface CifLogRecordExporterStats
  extends Omit<CifDeliveryStats, 'dropped'>,
    CifMappingStats<CifLogRecordDropReason> {
  /** Log records `export()` mapped: a large batch counts part by part, all of it by its callback. */
  logRecordsSeen: number;
  /** Log records that carry a `cif.` attribute. */
  cifLogRecords: number;
}

/** The mapping counters every source updates. */
export type MappingStats = CifMappingStats<MappingDropReason>;

/** The words of a space-separated string, as a union: `Words<'a b'>` is `'a' | 'b'`. */
type Words<S extends string> = S extends `${infer Word} ${infer Rest}` ? Word | Words<Rest> : S;

/** Counters at 0, one for each of the space-separated `names`; the type checks them against the stats interfaces. */
function zeros<S extends string>(names: S): Record<Words<S>, number> {
  return Object.fromEntries(names.split(' ').map((name) => [name, 0])) as Record<Words<S>, number>;
}

export function createDeliveryStats(): CifDeliveryStats {
  return {
    ...zeros('kpiEventsSent kpiEventsDelivered kpiEventsPending kpiEventsKept callsMade callsRetried callsFailed callsTimedOut callsQueued callsInFlight callsAbandoned'),
    dropped: zeros(DELIVERY_DROPS),
    outbox: { ...zeros('stored replayed expired unreadable storeErrors'), notStored: zeros('full store_error') },
  };
}

/** The outbox's counters at 0, as a delivery's hold them. */
export const createOutboxStats = (): CifOutboxStats => createDeliveryStats().outbox;

/** Mapping counters, with the space-separated `sourceDrops` (reasons of one source) ahead of the shared ones. */
export function createMappingStats<S extends string>(sourceDrops: S): CifMappingStats<Words<S> | MappingDropReason> {
  return {
    callbackErrors: 0,
    dropped: zeros(`${sourceDrops} missing_identity identity_too_long missing_kpi_name invalid_timestamp`) as Record<Words<S> | MappingDropReason, number>,
    truncated: zeros('kpiEventName kpiEventReason additionalData notificationResponseAction externalCorrelationId customData'),
    droppedFields: zeros('invalid_custom_column unserializable_value sdk_attribute_limit'),
  };
}

/** One copy of a source's mapping counters and its delivery's, as `getStats()` returns it. */
export function copyStats<M extends CifMappingStats<string>>(mapping: M, delivery: CifDeliveryStats): M & CifDeliveryStats {
  // Counters only, copied whole, nested objects included; not through JSON, whose output a page library's `toJSON`
  // changes, nor `structuredClone`, which a page may lack or have replaced.
  return copy({ ...mapping, ...delivery, dropped: { ...mapping.dropped, ...delivery.dropped } });
}

function copy<T extends object>(counters: T): T {
  return Object.fromEntries(Object.entries(counters).map(([key, value]) => [key, typeof value === 'object' ? copy(value as object) : value])) as T;
}
