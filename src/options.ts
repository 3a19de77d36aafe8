import { CIF_ATTRIBUTE_PREFIX } from './attributes.js';
import { defaultCorrelationId, defaultEventFilter, type MappingOptions } from './transform.js';
import type {
  CifAnalyticsClient,
  CifKpiEvent,
  CifReadableSpan,
  CifSession,
  CifTimedEvent,
} from './types.js';
import { MAX_TEXT_LENGTH, isColumnName } from './values.js';

/** Options of `CifSpanExporter`. Every one is optional. */
export interface CifSpanExporterOptions {
  /**
   * The CIF client to call. Pass a fake in tests or outside Dynamics 365.
   * @default globalThis.Microsoft.CIFramework, looked up at each call, so the exporter can be
   * created before the CIF library has loaded.
   */
  client?: CifAnalyticsClient;
  /**
   * Identity used for any field that neither the span nor the resource carries.
   * @default {}
   */
  session?: CifSession;
  /**
   * Maps existing attribute keys to `customData` columns, so tracing already in place is reused.
   * @default {}
   * @example { 'call.queue': 'msdyn_customattribute1' }
   */
  customAttributes?: Record<string, string>;
  /**
   * The `eventName` argument of each call.
   * @default (kpiEvent) => kpiEvent.kpiEventName
   */
  eventName?: (kpiEvent: CifKpiEvent, span: CifReadableSpan) => string;
  /**
   * Most KPI events per call. Above 1, KPI events of one export batch that share eventName,
   * identity and correlationId go in one call, in timestamp order.
   * @default 1
   */
  maxEventsPerCall?: number;
  /**
   * `'object'` passes the payload as an object (current docs); `'json'` passes
   * `JSON.stringify(payload)`, for hosts built to the docs before 2023.
   * @default 'object'
   */
  dataFormat?: 'object' | 'json';
  /**
   * Which span events become KPI events.
   * @default every event except the OpenTelemetry `exception` event
   */
  eventFilter?: (event: CifTimedEvent, span: CifReadableSpan) => boolean;
  /**
   * The `correlationId` argument of each call.
   * @default the span's trace id as a GUID (`traceIdToGuid`)
   */
  correlationId?: (span: CifReadableSpan) => string;
}

/** The options after validation, with every default filled in. */
export interface NormalizedOptions extends MappingOptions {
  getClient: () => CifAnalyticsClient | undefined;
  dataFormat: 'object' | 'json';
}

export const DEFAULT_OPTIONS = {
  maxEventsPerCall: 1,
  dataFormat: 'object',
  eventFilter: defaultEventFilter,
  eventName: (kpiEvent: CifKpiEvent) => kpiEvent.kpiEventName,
  correlationId: defaultCorrelationId,
} as const satisfies Partial<NormalizedOptions>;

/** `Microsoft.CIFramework` as it is on the page right now, if it has `logAnalyticsEvent`. */
export function pageCifClient(): CifAnalyticsClient | undefined {
  const cif = (globalThis as { Microsoft?: { CIFramework?: Partial<CifAnalyticsClient> } }).Microsoft
    ?.CIFramework;
  return typeof cif?.logAnalyticsEvent === 'function' ? (cif as CifAnalyticsClient) : undefined;
}

/** Validates the options and fills in defaults; throws a `TypeError` that says what to change. */
export function normalizeOptions(options: CifSpanExporterOptions = {}): NormalizedOptions {
  if (typeof options !== 'object' || options === null) fail('options', 'must be an object', options);
  const { client } = options;
  if (client !== undefined && typeof client?.logAnalyticsEvent !== 'function') {
    fail('client', 'must have a logAnalyticsEvent(data, eventName, correlationId) method', client);
  }
  const maxEventsPerCall = options.maxEventsPerCall ?? DEFAULT_OPTIONS.maxEventsPerCall;
  if (!Number.isInteger(maxEventsPerCall) || maxEventsPerCall < 1) {
    fail('maxEventsPerCall', 'must be a whole number of at least 1', maxEventsPerCall);
  }
  const dataFormat = options.dataFormat ?? DEFAULT_OPTIONS.dataFormat;
  if (dataFormat !== 'object' && dataFormat !== 'json') fail('dataFormat', "must be 'object' or 'json'", dataFormat);
  return {
    getClient: client ? () => client : pageCifClient,
    session: normalizeSession(options.session),
    customAttributes: normalizeCustomAttributes(options.customAttributes),
    eventFilter: callback('eventFilter', options.eventFilter) ?? DEFAULT_OPTIONS.eventFilter,
    eventName: callback('eventName', options.eventName) ?? DEFAULT_OPTIONS.eventName,
    correlationId: callback('correlationId', options.correlationId) ?? DEFAULT_OPTIONS.correlationId,
    maxEventsPerCall,
    dataFormat,
  };
}

export const SESSION_FIELDS = ['conversationId', 'providerSessionId', 'clientSessionId', 'participantId'] as const;

export function normalizeSession(
  session: CifSession | undefined,
  name = 'session',
  owner = OPTION_OWNER,
): CifSession {
  if (session === undefined) return {};
  if (typeof session !== 'object' || session === null) fail(name, 'must be an object', session, owner);
  const normalized: CifSession = {};
  for (const field of SESSION_FIELDS) {
    const value = session[field];
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string') fail(`${name}.${field}`, 'must be a string', value, owner);
    if (value.length > MAX_TEXT_LENGTH) {
      fail(`${name}.${field}`, `must be at most ${MAX_TEXT_LENGTH} characters (its Dataverse column size)`, value, owner);
    }
    normalized[field] = value;
  }
  return normalized;
}

function normalizeCustomAttributes(map: Record<string, string> | undefined): Array<[string, string]> {
  if (map === undefined) return [];
  if (typeof map !== 'object' || map === null) fail('customAttributes', 'must be an object', map);
  return Object.entries(map).map(([key, column]) => {
    if (key.startsWith(CIF_ATTRIBUTE_PREFIX)) {
      fail(`customAttributes['${key}']`, 'must name an attribute outside the cif. namespace', key);
    }
    if (typeof column !== 'string' || !isColumnName(column)) {
      fail(
        `customAttributes['${key}']`,
        'must be a column logical name of msdyn_kpieventdata, such as msdyn_customattribute1',
        column,
      );
    }
    return [key, column];
  });
}

function callback<F>(name: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== 'function') fail(name, 'must be a function', value);
  return value;
}

const OPTION_OWNER = 'CifSpanExporter: option';

function fail(option: string, rule: string, value: unknown, owner = OPTION_OWNER): never {
  let shown: string;
  try {
    shown = typeof value === 'string' ? `'${value.slice(0, 120)}'` : String(value);
  } catch {
    shown = typeof value;
  }
  throw new TypeError(`${owner} \`${option}\` ${rule} (got ${shown}).`);
}
