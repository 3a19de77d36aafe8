import type { Context } from '@opentelemetry/api';
import { SESSION_ATTRIBUTES } from '../attributes.js';
import { caught, log, sayOnce, type Warned } from '../log.js';
import { given } from '../validate.js';
import { readCifSession } from './context.js';
import { own, readField } from '../mapping/kpi-fields.js';

/** A span as it starts, or a log record as it is emitted: what the session processors write to. */
interface Stampable {
  readonly attributes: { readonly [key: string]: unknown };
  setAttribute(key: string, value: string): unknown;
}

/**
 * Writes the CIF session `ctx` (by default the active context) carries onto `target`, keeping any id it already has;
 * an empty one, which the mapping reads as absent, is filled. True when it wrote one. Never throws: starting a span or
 * emitting a log record must not fail because of it.
 */
export function stampSession(target: Stampable, ctx: Context | undefined, what: string): boolean {
  let wrote = false;
  try {
    const session = readCifSession(ctx);
    let notKept = false;
    for (const [field, key] of SESSION_ATTRIBUTES) {
      const value = session && (given(session, field) as string | undefined);
      // Absent as the mapping reads it: not an own value, or an empty one ('', [], {}).
      if (value !== undefined && readField(target.attributes, key) === undefined) {
        wrote = true;
        caught(target.setAttribute(key, value));
        // The SDK keeps no attribute past its attributeCountLimit and cuts values to its attributeValueLengthLimit: a
        // span or record so full takes no id, and a record with none is no CIF record, which no exporter counts. Warned
        // once for spans and once for log records (their limits are set apart), then told at DEBUG, a line a target.
        if (own(target.attributes, key) !== value && !notKept) {
          notKept = true;
          sayOnce(warnedNotKept, what, `The SDK did not keep ${key} on a ${what}: raise its attributeCountLimit or attributeValueLengthLimit.`, ' Shown once.', '');
        }
      }
    }
  } catch (error) {
    log('error', `could not stamp the CIF session on a ${what}`, error);
  }
  return wrote;
}

/** What was warned of not keeping an id: `span`, `log record`. */
const warnedNotKept: Warned = {};
