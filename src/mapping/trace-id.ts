import { isValidTraceId } from '@opentelemetry/api';
import { v4 as uuidv4 } from 'uuid';

/**
 * An OpenTelemetry trace id written as a GUID (`8-4-4-4-12` lower-case hex), so that every
 * CIF call made for one trace shares a `correlationId`. An invalid (all-zero or malformed)
 * trace id gives a fresh random v4 UUID instead.
 *
 * @example traceIdToGuid('4bf92f3577b34da6a3ce929d0e0e4736') // '4bf92f35-77b3-4da6-a3ce-929d0e0e4736'
 */
export function traceIdToGuid(traceId: string): string {
  if (!isValidTraceId(traceId)) return uuid();
  const hex = traceId.toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A random v4 UUID, lower-case, from uuid's own bytes and format: given no options, uuid answers
 * with the page's `crypto.randomUUID`, which a page may have replaced. Throws where the page's
 * `crypto.getRandomValues` does.
 */
export const uuid = (): string => uuidv4({});
