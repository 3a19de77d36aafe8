import type { CifAnalyticsClient, CifAnalyticsData } from '../types.js';
import { callback, check } from '../validate.js';

/** One `logAnalyticsEvent` call, as the client received it. */
export interface RecordedCifCall {
  data: CifAnalyticsData | string;
  eventName: string;
  correlationId: string | undefined;
}

/** The payload of a recorded call, parsed when it was sent as JSON text (`dataFormat: 'json'`). */
export function payloadOf({ data }: RecordedCifCall): CifAnalyticsData {
  return typeof data === 'string' ? (JSON.parse(data) as CifAnalyticsData) : data;
}

/** Options of `RecordingCifClient`. Every one is optional. */
export interface RecordingCifClientOptions {
  /**
   * What each call resolves with. A function can also fail the call by throwing or returning a
   * rejected promise, as the host does.
   * @default 'ok'
   * @example (call, index) => (index === 0 ? Promise.reject(new Error('Provider not active')) : 'ok')
   */
  answer?: string | ((call: RecordedCifCall, index: number) => string | Promise<string>) | undefined;
  /**
   * Called with each call as it is recorded, before it is answered; if it throws, the call fails.
   * @default none
   * @example (call, index) => printed.push(formatCifCall(call, index))
   */
  onCall?: ((call: RecordedCifCall, index: number) => void) | undefined;
}

/**
 * A CIF client for tests and for running a widget outside Dynamics 365: keeps every
 * `logAnalyticsEvent` call in `calls`, a structured clone of its data, and answers it with
 * `answer`; data that cannot be cloned fails the call, unrecorded, as the host's messaging does.
 * @example const client = new RecordingCifClient(); new CifSpanExporter({ client });
 */
export class RecordingCifClient implements CifAnalyticsClient {
  /** Every call so far, oldest first. */
  readonly calls: RecordedCifCall[] = [];
  private readonly answer: NonNullable<RecordingCifClientOptions['answer']>;
  private readonly onCall: RecordingCifClientOptions['onCall'];

  constructor(options?: RecordingCifClientOptions) {
    // Checked as the exporters check theirs, so that a bad option fails here, not every call. Null,
    // as an untyped caller may pass, is no options.
    const { answer, onCall } = check('RecordingCifClient: option').options<Required<RecordingCifClientOptions>>(
      { answer: ['ok', (a) => typeof a === 'string' || typeof a === 'function', 'must be a string or a function'], onCall: callback() },
      options ?? undefined,
    );
    this.answer = answer;
    this.onCall = onCall;
  }

  logAnalyticsEvent(data: CifAnalyticsData | string, eventName: string, correlationId?: string): Promise<string> {
    try {
      // Kept as received: the host's messaging copies the arguments at the call, so a widget that changes its
      // objects later changes no call, and one it cannot copy (a function, a proxy) fails the call unrecorded.
      const [copied, name, id] = copyOf([data, eventName, correlationId]) as [typeof data, string, string | undefined];
      const call: RecordedCifCall = { data: copied, eventName: name, correlationId: id };
      const index = this.calls.push(call) - 1;
      this.onCall?.(call, index);
      const answer = this.answer;
      return Promise.resolve(typeof answer === 'function' ? answer(call, index) : answer);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The payload of every call so far, oldest first, the ones sent as JSON text
   * (`dataFormat: 'json'`) parsed: what a test reads KPI events from.
   * @example expect(client.payloads().flatMap((data) => data.events.map((event) => event.kpiEventName))).to.deep.equal(['CallAccepted']);
   */
  payloads(): CifAnalyticsData[] {
    return this.calls.map((call, index) => {
      try {
        return payloadOf(call);
      } catch (error) {
        // A call made directly with text that is not JSON: the test learns which one.
        throw new SyntaxError(`call #${index + 1} ('${call.eventName}') has data that is text but not JSON: ${(error as Error).message}`, { cause: error });
      }
    });
  }

  /** Forgets the calls recorded so far: the `index` that `answer` and `onCall` get counts from 0 again. */
  clear(): void {
    this.calls.length = 0;
  }

  /** Every call so far, written for people to read (see `formatCifCall`). */
  format(): string {
    return this.calls.map((call, index) => formatCifCall(call, index)).join('\n\n');
  }
}

/**
 * One call written for people to read: a header with the event name and correlation id, then
 * the identity and each KPI event, one field a line (a value with line breaks as JSON text).
 * A payload sent as JSON text is shown parsed; `index` counts from 0 and is shown from `#1`.
 */
export function formatCifCall(call: RecordedCifCall, index?: number): string {
  const number = index === undefined ? '' : `#${index + 1} `;
  const header = `${number}logAnalyticsEvent '${text(call.eventName)}'  correlationId ${text(call.correlationId ?? '(none)')}`;
  const isText = typeof call.data === 'string';
  const data = isText ? parseJson(call.data as string) : call.data;
  try {
    if (isRecord(data) && Array.isArray(data['events'])) {
      const { events, ...identity } = data;
      const lines = [isText ? `${header}  (data sent as JSON text)` : header, ...fieldLines(identity, '  ')];
      (events as unknown[]).forEach((event, i) => {
        lines.push(`  events[${i}]`);
        lines.push(...fieldLines(isRecord(event) ? event : { value: event }, '    '));
      });
      return lines.join('\n');
    }
  } catch {
    // Data whose reading throws (a getter of the widget's own object) is printed as the rest.
  }
  return `${header}\n  data ${json(call.data)}`;
}

function fieldLines(record: Record<string, unknown>, indent: string): string[] {
  const entries = Object.entries(record);
  const width = Math.max(0, ...entries.map(([key]) => text(key).length));
  return entries.map(([key, value]) => `${indent}${text(key).padEnd(width)}  ${show(key, value)}`);
}

function show(key: string, value: unknown): string {
  if (key === 'customData' && Array.isArray(value)) {
    return value.map((item) => (isRecord(item) ? `${text(item['attribute'])} = ${text(item['value'])}` : json(item))).join(', ');
  }
  return text(value);
}

/** A string as it is, anything else, and a string that would break its line, as JSON text. */
function text(value: unknown): string {
  return typeof value === 'string' && !/[\n\r\u2028\u2029]/.test(value) ? value : json(value);
}

/**
 * JSON text of any value, on one line: what JSON cannot write (cycles, bigints) as `String()` gives
 * it, with the line breaks JSON leaves (U+2028, U+2029) or `String()` writes escaped.
 */
function json(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    try {
      text = String(value);
    } catch {
      return describeType(value);
    }
  }
  return text.replace(/[\n\r\u2028\u2029]/g, (lineBreak) => `\\u${lineBreak.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `[object Type]` as `Object.prototype.toString` writes it, or the type alone for a proxy that refuses that too. */
function describeType(value: unknown): string {
  try {
    return Object.prototype.toString.call(value);
  } catch {
    return typeof value;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `structuredClone(value)`; where the page has none (Jest's jsdom environment), the same clone by
 * Node's `v8` serializer. Where neither is (a browser of before 2022), a copy of plain data:
 * arrays, objects and `Map`s copied, other values kept, a function or symbol refused as
 * `structuredClone` refuses it, and a cycle refused.
 */
function copyOf(value: unknown): unknown {
  if (typeof structuredClone === 'function') return structuredClone(value);
  const v8 = (globalThis as { process?: { getBuiltinModule?: (name: 'v8') => V8Serializer } }).process?.getBuiltinModule?.('v8');
  if (v8) return v8.deserialize(v8.serialize(value));
  return copyPlain(value);
}

/** What `copyOf` uses of Node's `v8` module. */
interface V8Serializer {
  serialize(value: unknown): Uint8Array;
  deserialize(bytes: Uint8Array): unknown;
}

function copyPlain(value: unknown): unknown {
  if (typeof value === 'function' || typeof value === 'symbol') throw new TypeError(`${String(value)} could not be cloned`);
  if (value instanceof Map) return new Map([...value].map(([key, item]) => [copyPlain(key), copyPlain(item)]));
  if (Array.isArray(value)) return value.map(copyPlain);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, copyPlain(item)]));
}
