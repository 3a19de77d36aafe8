import { context, createContextKey, type Context } from '@opentelemetry/api';
import { SESSION_FIELDS } from '../attributes.js';
import { log } from '../log.js';
import { normalizeSession } from '../options.js';
import type { CifSession } from '../types.js';

const CIF_SESSION_KEY = createContextKey('opentelemetry-exporter-cif session');

const OWNER = 'setCifSession:';

/**
 * Returns a copy of `ctx` that carries `session`, merged over the session `ctx` already carries:
 * the new session's fields win, the others are kept. A field that is not a string of at most 100
 * characters is left out with a `diag.warn`; this never throws.
 * @example const ctx = setCifSession(context.active(), { conversationId, providerSessionId });
 */
export function setCifSession(ctx: Context, session: CifSession): Context {
  const merged: CifSession = { ...getCifSession(ctx), ...validFields(session) };
  return ctx.setValue(CIF_SESSION_KEY, Object.freeze(merged));
}

/**
 * The CIF session `ctx` carries, if any.
 * @default ctx: the active context
 */
export function getCifSession(ctx: Context = context.active()): Readonly<CifSession> | undefined {
  return ctx.getValue(CIF_SESSION_KEY) as Readonly<CifSession> | undefined;
}

/**
 * Runs `fn` with `session` merged into the active context (see `setCifSession`) and returns what
 * it returns. Spans started inside, and in whatever the context manager carries the context to,
 * get the session's ids from `CifSessionSpanProcessor`.
 * @example withCifSession({ conversationId, providerSessionId }, () => handleCall(call));
 */
export function withCifSession<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
  session: CifSession,
  fn: F,
  thisArg?: ThisParameterType<F>,
  ...args: A
): ReturnType<F> {
  return context.with(setCifSession(context.active(), session), fn, thisArg, ...args);
}

/** The fields of `session` that can be sent; each invalid one is warned about and left out. */
function validFields(session: CifSession): CifSession {
  if (typeof session !== 'object' || session === null) {
    try {
      normalizeSession(session, OWNER);
    } catch (error) {
      log('warn', `${(error as Error).message} The session is ignored.`);
    }
    return {};
  }
  // Field by field, so that one bad id does not cost the whole session.
  const valid: CifSession = {};
  for (const field of SESSION_FIELDS) {
    try {
      Object.assign(valid, normalizeSession({ [field]: session[field] }, OWNER));
    } catch (error) {
      log('warn', `${(error as Error).message} The field is left out.`);
    }
  }
  return valid;
}
