import { context, createContextKey, type Context } from '@opentelemetry/api';
import { NAMESPACE } from '../log.js';
import { normalizeSession } from '../options.js';
import { check, isRecord } from '../validate.js';
import type { CifSession } from '../types.js';

const CIF_SESSION_KEY = createContextKey(`${NAMESPACE} session`);

/**
 * Returns a copy of `ctx` that carries `session`, merged over the session `ctx` already carries:
 * the new session's fields win, the others are kept. A field that is not a string of at most 100
 * characters is left out with a `diag.warn`, and the enclosing session's is not kept in its place
 * (nor any, when `session` is not an object): no session, whatever it holds, makes this throw.
 * Given `undefined`, or a `ctx` that cannot carry it (a page's context manager may answer
 * anything), it returns `ctx` itself.
 * @example const ctx = setCifSession(context.active(), { conversationId, providerSessionId });
 */
export function setCifSession(ctx: Context, session: CifSession): Context {
  return merge(ctx, session, 'setCifSession:');
}

/** `setCifSession`, its warnings starting with `owner`: the function the widget called. */
function merge(ctx: Context, session: CifSession, owner: string): Context {
  // No session at all changes nothing: not even an empty session, which CifSampler would take as a CIF session.
  if (session === undefined) return ctx;
  const fields = normalizeSession(session, check(owner), ' It is left out.');
  let enclosing: CifSession | undefined;
  try {
    // Copied as it is read: any copy of this library on the page may have set it, and one that cannot be read is none.
    enclosing = { ...(isRecord(session) && getCifSession(ctx)) };
  } catch {
    // None.
  }
  // What is left out is not taken from the enclosing session either: its KPI events are counted, never sent with another
  // call's id. So a session that is no object keeps none of the enclosing ids. Copied field by field, not through the
  // page's JSON, which a page library may change; the fields left out hold undefined, and are dropped.
  const merged = Object.entries({ ...enclosing, ...fields }).filter(([, value]) => value !== undefined);
  try {
    return ctx.setValue(CIF_SESSION_KEY, Object.freeze(Object.fromEntries(merged)));
  } catch {
    // No Context (a page's context manager may answer anything): it carries no session, and the KPI events of its spans are
    // counted as lacking their ids.
    return ctx;
  }
}

/**
 * The CIF session `ctx` carries, if any; none from a `ctx` that is no Context (a page's context manager may answer anything).
 * @default ctx: the active context
 */
export function getCifSession(ctx?: Context): Readonly<CifSession> | undefined {
  try {
    return readCifSession(ctx);
  } catch {
    // None.
  }
}

/** The CIF session `ctx` carries, if any; throws where `ctx` cannot be read, which the sampler and the processors tell apart. */
export const readCifSession = (ctx: Context = context.active()): Readonly<CifSession> | undefined =>
  ctx.getValue(CIF_SESSION_KEY) as Readonly<CifSession> | undefined;

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
  let active: Context;
  try {
    active = context.active();
  } catch {
    // No active context to carry the session (`Zone is not defined`): the function runs without it, as where one cannot carry it.
    return Reflect.apply(fn, thisArg, args);
  }
  return context.with(merge(active, session, 'withCifSession:'), fn, thisArg, ...args);
}
