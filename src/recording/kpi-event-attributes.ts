import { isObject, shown } from '../validate.js';
import type { Attributes } from '@opentelemetry/api';
import { log } from '../log.js';
import { ATTR_CIF_KPI_NAME, CIF_KPI_CUSTOM_PREFIX } from '../attributes.js';
import { KPI_FIELDS } from '../mapping/kpi-fields.js';

/** The optional fields of a KPI event recorded with `recordKpiEvent` or `emitKpiEvent`. */
export interface CifKpiEventDetails {
  /** `kpiEventReason`. */
  reason?: string | undefined;
  /** `additionalData`, up to 2000 characters; JSON text is common. */
  additionalData?: string | undefined;
  /** `notificationResponseAction`: `'accepted'`, `'rejected'` or a value of your own. */
  notificationResponseAction?: 'accepted' | 'rejected' | (string & {}) | undefined;
  /** `externalCorrelationId`: the id of this event in the provider's own system. */
  externalCorrelationId?: string | undefined;
  /**
   * `customData`, by column logical name of `msdyn_kpieventdata`.
   * @example { msdyn_customattribute1: 'billing' }
   */
  customData?: Record<string, string | number | boolean> | undefined;
}

/** The attributes of one KPI event, on a span event or a log record. Throws only if `details` does. */
export function kpiEventAttributes(name: string, details?: CifKpiEventDetails): Attributes {
  const attributes: Attributes = { [ATTR_CIF_KPI_NAME]: name };
  if (isObject(details)) {
    for (const [field, key] of KPI_FIELDS) {
      const value = details[field === 'kpiEventReason' ? 'reason' : field];
      if (value !== undefined) attributes[key] = value;
    }
    const { customData } = details;
    if (isObject(customData)) for (const [column, value] of Object.entries(customData)) attributes[CIF_KPI_CUSTOM_PREFIX + column] = value;
  }
  return attributes;
}

/**
 * Writes the KPI event `name` with `write`, which says false when there is nothing to write to:
 * then a warning says it was not `verb` because `absent`. Never throws, whatever the caller
 * passed: instrumenting a widget must not break it.
 */
export function writeKpiEvent(name: string, write: () => boolean, verb: string, absent: string): void {
  try {
    if (!write()) log('warn', `KPI event '${shown(name)}' not ${verb}: ${absent}.`);
  } catch (error) {
    log('error', `KPI event '${shown(name)}' not ${verb}`, error);
  }
}
