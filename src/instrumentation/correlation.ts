import { isValidTraceId } from '@opentelemetry/api';
import { traceIdToGuid } from '../mapping/trace-id.js';

/**
 * The CIF 2.0 methods whose documented syntax ends with an optional `correlationId` ("used to
 * group all related API calls together for diagnostic telemetry"), and its position. Checked
 * against each method's page of the CIF 2.0 JavaScript API reference on learn.microsoft.com.
 */
export const CORRELATION_ID_POSITIONS: ReadonlyMap<string, number> = new Map([
  ['logAnalyticsEvent', 2], // (data, eventName, correlationId)
  ['createSession', 1], // (input, correlationId)
  ['requestFocusSession', 1], // (sessionId, correlationId)
  ['updateConversation', 2], // (id, data, correlationId)
  ['updateContext', 3], // (input, sessionId, isDelete, correlationId)
  ['createTab', 1], // (input, correlationId)
  ['focusTab', 1], // (tabId, correlationId)
  ['closeTab', 1], // (tabId, correlationId)
  ['refreshTab', 1], // (tabId, correlationId)
]);

/**
 * The arguments a call of `method` goes to the host with: when the method ends with a
 * `correlationId` and the widget passed no argument at that position, its arguments, optional
 * ones left out given as `undefined`, then the trace id as a GUID. Otherwise `args` itself:
 * an argument the widget passed, `undefined` included, is never changed.
 */
export function withCorrelationId(method: string, args: readonly unknown[], traceId: string): readonly unknown[] {
  const position = CORRELATION_ID_POSITIONS.get(method);
  if (position === undefined || args.length > position || !isValidTraceId(traceId)) return args;
  const filled: unknown[] = [];
  // Past the arguments given, `undefined`: reading there would read Array.prototype, where a page may have put an index.
  for (let i = 0; i < position; i++) filled.push(i < args.length ? args[i] : undefined);
  filled.push(traceIdToGuid(traceId));
  return filled;
}
