import { CIF_ATTRIBUTE_PREFIX, SESSION_ATTRIBUTES } from './attributes.js';
import type { CifDelivery, SharedDelivery } from './delivery/cif-delivery.js';
import {
  type DELIVERY_DEFAULTS,
  DELIVERY_OPTIONS,
  deliveryOptions,
  type ExporterOnlyOption,
  type CifDeliveryOptions,
  type DeliveryOptions,
} from './delivery/options.js';
import { sayOnce, type Warned } from './log.js';
import { callback, check, count, given, isRecord, type Check, type OptionTable } from './validate.js';
import { defaultEventName, type KpiEventOptions } from './mapping/kpi-events.js';
import { defaultCorrelationId, defaultEventFilter } from './mapping/spans.js';
import { MAX_TEXT_LENGTH, isColumnName } from './mapping/values.js';
import type { CifKpiEvent, CifReadableSpan, CifSession, CifTimedEvent } from './types.js';

/** Options every exporter takes. Every one is optional. */
export interface CifExporterOptions extends CifDeliveryOptions {
  /**
   * The delivery to send through, shared with other exporters: one readiness wait, one
   * concurrency limit, one queue bound. The delivery options then belong to it, not here.
   * @default a delivery of this exporter's own, made from its delivery options
   * @example const delivery = new CifDelivery(); new CifSpanExporter({ delivery }); new CifLogRecordExporter({ delivery });
   */
  delivery?: CifDelivery | undefined;
  /**
   * Identity used for any field that neither the span nor the resource carries.
   * @default {}
   */
  session?: CifSession | undefined;
  /**
   * Maps existing attribute keys to `customData` columns, so tracing already in place is reused.
   * @default {}
   * @example { 'call.queue': 'msdyn_customattribute1' }
   */
  customAttributes?: Record<string, string> | undefined;
  /**
   * Most KPI events per call. Above 1, KPI events of one part of an export batch (a large batch is
   * mapped in parts) that share eventName, identity and correlationId go in one call, in
   * timestamp order.
   * @default 1
   */
  maxEventsPerCall?: number | undefined;
}

/** Options of `CifSpanExporter`. Every one is optional. */
export interface CifSpanExporterOptions extends CifExporterOptions {
  /**
   * The `eventName` argument of each call.
   * @default (kpiEvent) => kpiEvent.kpiEventName
   */
  eventName?: ((kpiEvent: CifKpiEvent, span: CifReadableSpan) => string) | undefined;
  /**
   * Which span events become KPI events. Yours replaces the whole default.
   * @default every event except, unless the event carries a `cif.` attribute: the OpenTelemetry
   * `exception` event, the network timing events (`fetchStart`, ...), and the events of spans whose
   * instrumentation scope starts `@opentelemetry/instrumentation-` (`open`, `send`, `loaded`, ...)
   */
  eventFilter?: ((event: CifTimedEvent, span: CifReadableSpan) => boolean) | undefined;
  /**
   * The `correlationId` argument of each call; an answer over 100 characters counts in `callbackErrors` and gets the default.
   * @default the span's trace id as a GUID (`traceIdToGuid`)
   */
  correlationId?: ((span: CifReadableSpan) => string) | undefined;
}

/** The options after validation, with every default filled in. */
export interface NormalizedOptions<S = CifReadableSpan, F = (event: CifTimedEvent, span: CifReadableSpan) => boolean>
  extends KpiEventOptions<S>,
    DeliveryOptions {
  eventFilter: F;
  /** The delivery behind the `CifDelivery` given, if one was: the delivery options above are then its defaults, unused. */
  delivery: SharedDelivery | undefined;
}

/** An exporter's defaults for the callbacks whose arguments depend on its source. */
export interface SourceDefaults<S, F> {
  /** The exporter's class name, for messages. */
  readonly name: string;
  readonly eventFilter: F;
  readonly correlationId: KpiEventOptions<S>['correlationId'];
}

export const SPAN_DEFAULTS: SourceDefaults<CifReadableSpan, NormalizedOptions['eventFilter']> = {
  name: 'CifSpanExporter',
  eventFilter: defaultEventFilter,
  correlationId: defaultCorrelationId,
};

/** The delivery behind each `CifDelivery`, which its constructor sets. */
export const deliveries = new WeakMap<CifDelivery, SharedDelivery>();

/** The options only an exporter takes: each `ExporterOnlyOption`, no other. */
export const EXPORTER_ONLY_OPTIONS: Record<ExporterOnlyOption, OptionTable[string]> = {
  // Set by normalizeOptions, which checks it before the delivery options beside it.
  delivery: () => undefined,
  session: normalizeSession,
  customAttributes: (map: Record<string, string> = {}, c: Check): Array<[string, string]> => {
    c.object('customAttributes', map);
    return c.read('customAttributes', () => Object.entries(map)).map(([key, column]) => {
      const option = `customAttributes['${key}']`;
      if (key.startsWith(CIF_ATTRIBUTE_PREFIX)) c.fail(option, 'must not map a cif. attribute', key);
      if (typeof column !== 'string' || !isColumnName(column)) c.fail(option, 'must be the logical name of a custom column: msdyn_customattribute1 to 5, or one you added', column);
      return [key, column];
    });
  },
  maxEventsPerCall: count(1),
  eventName: callback(defaultEventName),
  eventFilter: callback(),
  correlationId: callback(),
};

/** Every default of an exporter: its own, then its delivery's. */
export const DEFAULT_OPTIONS: typeof DELIVERY_DEFAULTS & { maxEventsPerCall: number } = /* @__PURE__ */ check('').options(
  // Object.assign, unlike a spread, can be marked pure, so that bundles leave these defaults out.
  /* @__PURE__ */ Object.assign({}, DELIVERY_OPTIONS, EXPORTER_ONLY_OPTIONS),
  {},
);

/** Validates an exporter's options and fills in defaults; throws a `TypeError` that says what an option must be. */
export function normalizeOptions<S = CifReadableSpan, F = NormalizedOptions['eventFilter']>(
  options: CifExporterOptions & { eventName?: unknown; eventFilter?: unknown; correlationId?: unknown } = {},
  defaults: SourceDefaults<S, F> = SPAN_DEFAULTS as never,
): NormalizedOptions<S, F> {
  const c = check(`${defaults.name}: option`);
  // The delivery first: when it is no CifDelivery, that is the mistake to name, not a delivery option beside it.
  const shared = c.read('delivery', () => given(options ?? {}, 'delivery')) as CifDelivery | undefined;
  const delivery = shared === undefined ? undefined : deliveries.get(shared) ?? c.fail('delivery', 'must be a CifDelivery', shared);
  // Every option of an exporter: its delivery's, then its own, `eventFilter` and `correlationId` with the source's defaults.
  const table: Record<string, OptionTable[string]> = {
    ...DELIVERY_OPTIONS,
    ...EXPORTER_ONLY_OPTIONS,
    // The delivery the options beside it are checked by, read once above.
    delivery: [delivery],
    eventFilter: callback(defaults.eventFilter),
    correlationId: callback(defaults.correlationId),
  };
  // Beside a CifDelivery, its options must be left out; each is read once, as every option is.
  if (delivery) {
    for (const name of Object.keys(DELIVERY_OPTIONS)) {
      table[name] = (value: unknown) => (value === undefined ? value : c.fail(name, 'belongs to the CifDelivery passed as `delivery`', value));
    }
  }
  return deliveryOptions(options, c, table);
}

/** The session fields `setCifSession` has warned of, and whether it warned of a session that is no object. */
const sessionWarned: Warned<keyof CifSession | 'session'> = {};

/**
 * Validates a session with the check of its owner (such as `check('setCifSession:')`): throws a
 * `TypeError` that says what a field must be; or, given `leftOut`, warns with it appended instead
 * and leaves the field out, as `undefined` when it was given (all of them when `session` is not an object).
 */
export function normalizeSession(session: CifSession | undefined, c: Check, leftOut?: string): CifSession {
  // No prototype: a field left out reads as undefined, whatever a page library adds to Object.prototype.
  const normalized: CifSession = Object.create(null) as CifSession;
  for (const [field] of session === undefined ? [] : SESSION_ATTRIBUTES) {
    try {
      // In the loop, so that a session that is not an object is left out like a bad field, warned about once.
      c.object('session', session);
      // A misspelt field of the option warns; `setCifSession` may be given a larger object at every call, which would warn each time.
      if (leftOut === undefined && field === 'conversationId') c.known(session, SESSION_ATTRIBUTES.map(([name]) => name), 'session.');
      // A getter of the page's session may throw anything, null or a hostile proxy included.
      const value: unknown = c.read(`session.${field}`, () => given(session, field));
      if (typeof value === 'string' && value.length <= MAX_TEXT_LENGTH) {
        if (value !== '') normalized[field] = value;
      } else if (value !== undefined) {
        c.fail(`session.${field}`, `must be a string of at most ${MAX_TEXT_LENGTH} characters`, value);
      }
    } catch (error) {
      if (leftOut === undefined) throw error;
      // A page sets its sessions at every call: a field wrong once is wrong each time, so it warns once, then at DEBUG.
      // A session that is no object is warned of as one, apart from its fields.
      sayOnce(sessionWarned, isRecord(session) ? field : 'session', (error as Error).message, leftOut, leftOut);
      // Given, so that a nested session does not keep the enclosing one's in its place.
      normalized[field] = undefined;
      if (!isRecord(session)) break;
    }
  }
  return normalized;
}
