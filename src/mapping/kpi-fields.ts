import {
  ATTR_CIF_KPI_ADDITIONAL_DATA,
  ATTR_CIF_KPI_EXTERNAL_CORRELATION_ID,
  ATTR_CIF_KPI_NAME,
  ATTR_CIF_KPI_NOTIFICATION_RESPONSE_ACTION,
  ATTR_CIF_KPI_REASON,
  CIF_ATTRIBUTE_PREFIX,
  CIF_KPI_CUSTOM_PREFIX,
  CIF_KPI_PREFIX,
} from '../attributes.js';
import type { CifAnalyticsData } from '../types.js';
import { UNSERIALIZABLE, hasOwnProperty, isColumnName, toPayloadString } from './values.js';

/** Who a call's KPI events belong to: the payload without its events. */
export type Identity = Omit<CifAnalyticsData, 'events'>;

/** Attributes of a span, a span event, a log record or a resource; log records may nest values. */
export type AttributeBag = { readonly [key: string]: unknown };

/** `[attribute key, column]` pairs from `customAttributes`. */
export type CustomAttributes = ReadonlyArray<readonly [string, string]>;

/**
 * The optional text fields of a KPI event: payload field and the attribute it comes from.
 * `recordKpiEvent` and `emitKpiEvent` take them by the same names, but `reason`.
 */
export const KPI_FIELDS = [
  ['kpiEventReason', ATTR_CIF_KPI_REASON],
  ['additionalData', ATTR_CIF_KPI_ADDITIONAL_DATA],
  ['notificationResponseAction', ATTR_CIF_KPI_NOTIFICATION_RESPONSE_ACTION],
  ['externalCorrelationId', ATTR_CIF_KPI_EXTERNAL_CORRELATION_ID],
] as const;

const KPI_KEYS: readonly string[] = KPI_FIELDS.map(([, key]) => key);

/** Value by column, in the order the columns were first set: a `Map` keeps a bag of many columns linear. */
type CustomColumns = Map<string, string>;

/**
 * KPI fields read from one attribute bag (a span's, an event's, a log record's), before
 * truncation: one value per `KPI_FIELDS` entry, in its order, then the custom columns; then what
 * the reads left out, counted once per KPI event sent with these fields: values that cannot be
 * read or written, and `cif.kpi.` keys that name no field or column, the first of them for the warning.
 */
export type KpiFields = [
  reason?: string,
  additionalData?: string,
  action?: string,
  externalId?: string,
  custom?: CustomColumns,
  unreadable?: number,
  invalidColumns?: number,
  invalidKey?: string,
];

/**
 * Fields with nothing read yet, sized up front (an array grown from empty reserves 16 values), and
 * filled: a hole would be read through `Array.prototype`, where a page may have put an index.
 */
export const noFields = (): KpiFields => new Array(8).fill(undefined) as KpiFields;

/** Whether a key of `attributes` starts with `prefix`; a bag that is absent (a foreign span's, its resource's or an event's may be) has none. */
export function hasCifAttribute(attributes: AttributeBag | undefined, prefix = CIF_ATTRIBUTE_PREFIX): boolean {
  // Own keys only: a page's library may add enumerable keys to Object.prototype.
  return Object.keys(attributes ?? {}).some((key) => key.startsWith(prefix));
}

/** Whether a span or log record was made by an instrumentation library (fetch, XHR, document load, ...), by the scope name they all use. */
export function isInstrumentationScope(scope: { readonly name?: unknown } | undefined): boolean {
  const name = scope?.name;
  return typeof name === 'string' && name.startsWith('@opentelemetry/instrumentation-');
}

/**
 * Reads the KPI fields of one attribute bag, none when it is absent (see `hasCifAttribute`). With
 * `inherited` (a span's fields, for one of its events), a field the bag lacks keeps the inherited
 * value, and custom columns are set over the inherited ones, column by column.
 */
export function readKpiFields(attributes: AttributeBag | undefined, customAttributes: CustomAttributes, inherited?: KpiFields): KpiFields {
  // An event starts from its span's fields. The span's columns are shared by its events: a bag copies them when it sets
  // its first column.
  const fields = (inherited?.slice() as KpiFields | undefined) ?? noFields();
  const shared = fields[4];
  let custom: CustomColumns | undefined;
  // A column set again keeps its place and takes the new value. Mapped attributes first, so an
  // explicit `cif.kpi.custom.*` on the same bag wins.
  for (const [key, column] of customAttributes) {
    const value = field(attributes, key, fields);
    if (value !== undefined) (custom ??= new Map(shared)).set(column, value);
  }
  // One pass over the keys the bag has: looking up each field's key cost more, as most are absent.
  for (const key of Object.keys(attributes ?? {})) {
    const at = KPI_KEYS.indexOf(key);
    // Any other `cif.kpi.` key but the name's is a custom column's, or one misspelt, whose value would go nowhere.
    if (at < 0 && (!key.startsWith(CIF_KPI_PREFIX) || key === ATTR_CIF_KPI_NAME)) continue;
    const value = field(attributes, key, fields);
    if (value === undefined) continue;
    let column: string | undefined;
    if (at >= 0) fields[at] = value;
    else if ((column = customColumn(key))) {
      (custom ??= new Map(shared)).set(column, value);
    } else {
      fields[6] = (fields[6] ?? 0) + 1;
      fields[7] ??= key;
    }
  }
  if (custom) fields[4] = custom;
  return fields;
}

/** The custom columns named by the `cif.kpi.` keys seen: a widget sets a few, over and over. */
const columns = new Map<string, string>();

/**
 * The custom column a `cif.kpi.` key names, or ''. The first 64 keys that name one are remembered:
 * a column's key has at most 115 characters, so they cost the page a few kilobytes at most.
 */
function customColumn(key: string): string {
  let column = columns.get(key);
  if (column === undefined) {
    column = key.slice(CIF_KPI_CUSTOM_PREFIX.length);
    if (!key.startsWith(CIF_KPI_CUSTOM_PREFIX) || !isColumnName(column)) column = '';
    else if (columns.size < 64) columns.set(key, column);
  }
  return column;
}

/** One attribute as a payload string; a value that cannot be read or written is left out, and counted in `fields`. */
export function field(attributes: object | undefined, key: string, fields: KpiFields): string | undefined {
  const text = readField(attributes, key);
  if (text !== UNSERIALIZABLE) return text;
  fields[5] = (fields[5] ?? 0) + 1;
  return undefined;
}

/**
 * One attribute as a payload string. A getter on the bag may throw: that loses the value, not the
 * source. A bag that is absent has no values.
 */
export function readField(attributes: object | undefined, key: string): ReturnType<typeof toPayloadString> {
  try {
    return toPayloadString(own(attributes, key));
  } catch {
    return UNSERIALIZABLE;
  }
}

/**
 * The bag's own value at `key`; nothing it inherits, which a page library may add to
 * Object.prototype, or the SDK take from a log attribute named `__proto__`. May throw.
 */
export function own(attributes: object | undefined, key: string): unknown {
  return attributes && hasOwnProperty.call(attributes, key) ? (attributes as AttributeBag)[key] : undefined;
}

/** A count the SDK keeps on spans, events and log records; anything else (older SDKs, hostile objects) is 0. */
export function sdkCount(value: unknown): number {
  return Number.isSafeInteger(value) && (value as number) > 0 ? (value as number) : 0;
}
