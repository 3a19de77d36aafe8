import { ROOT_CONTEXT, context, createContextKey, diag } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { expect } from 'chai';
import { AlwaysOffSampler, BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { CifSampler, getCifSession, setCifSession, withCifSession, type CifSession } from '../../src/index.js';
import { contextManagerWith } from '../helpers/context-managers.js';
import { captureDiag, captureLevels } from '../helpers/diag.js';

/**
 * Of `lines` (from `captureLevels`), those that say a session field is left out, without their
 * level: each field warns once per page, then says it at DEBUG, and other tests may have used it.
 */
const leftOut = (lines: readonly string[]): string[] =>
  lines.filter((line) => line.endsWith('It is left out.')).map((line) => `opentelemetry-exporter-cif ${line.replace(/^(warn|debug) /, '')}`);

const CALL: CifSession = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

describe('setCifSession and getCifSession', () => {
  afterEach(() => diag.disable());

  it('keeps the session under the context key every copy of the library creates, so two bundles on one page share it', () => {
    const ctx = ROOT_CONTEXT.setValue(createContextKey('opentelemetry-exporter-cif session'), { conversationId: 'conv-1' });
    expect(getCifSession(ctx)).to.deep.equal({ conversationId: 'conv-1' });
  });

  it('finds no session in a context that was never given one', () => {
    expect(getCifSession(ROOT_CONTEXT)).to.equal(undefined);
  });

  it('returns a new context carrying the session and leaves the original context as it was', () => {
    const ctx = setCifSession(ROOT_CONTEXT, CALL);
    expect(getCifSession(ctx)).to.deep.equal(CALL);
    expect(getCifSession(ROOT_CONTEXT)).to.equal(undefined);
  });

  it('keeps its own copy, so changing the object passed in changes nothing', () => {
    const session: CifSession = { ...CALL };
    const ctx = setCifSession(ROOT_CONTEXT, session);
    session.conversationId = 'changed';
    expect(getCifSession(ctx)).to.deep.equal(CALL);
    expect(Object.isFrozen(getCifSession(ctx))).to.equal(true);
  });

  const merges: Array<{ title: string; outer: CifSession; inner: CifSession; expected: CifSession }> = [
    {
      title: 'adds the inner fields to the outer ones',
      outer: CALL,
      inner: { participantId: 'agent-7', clientSessionId: 'tab-2' },
      expected: { ...CALL, participantId: 'agent-7', clientSessionId: 'tab-2' },
    },
    {
      title: 'lets an inner field win over the same outer field',
      outer: { ...CALL, participantId: 'agent-7' },
      inner: { providerSessionId: 'prov-2', participantId: 'agent-9' },
      expected: { conversationId: 'conv-1', providerSessionId: 'prov-2', participantId: 'agent-9' },
    },
    {
      title: 'keeps an outer field that the inner session leaves undefined or empty',
      outer: { ...CALL, participantId: 'agent-7' },
      inner: { conversationId: undefined, participantId: '' },
      expected: { ...CALL, participantId: 'agent-7' },
    },
  ];
  merges.forEach(({ title, outer, inner, expected }) =>
    it(`merges nested sessions: ${title}`, () => {
      const ctx = setCifSession(setCifSession(ROOT_CONTEXT, outer), inner);
      expect(getCifSession(ctx)).to.deep.equal(expected);
    }),
  );

  const invalid: Array<{ title: string; session: unknown; expected: CifSession | undefined; warning: RegExp }> = [
    {
      title: 'an id that is not a string',
      session: { ...CALL, participantId: 7 },
      expected: CALL,
      warning: /setCifSession: `session.participantId` must be a string of at most 100 characters \(got 7\)\. It is left out\./,
    },
    {
      title: 'an id longer than its 100-character column',
      session: { conversationId: 'c'.repeat(101), providerSessionId: 'prov-1' },
      expected: { providerSessionId: 'prov-1' },
      warning: /`session.conversationId` must be a string of at most 100 characters.*It is left out\./,
    },
    {
      title: 'an id whose getter throws',
      session: Object.defineProperty({ ...CALL }, 'participantId', { enumerable: true, get: () => { throw new Error('getter bug'); } }),
      expected: CALL,
      warning: /^opentelemetry-exporter-cif setCifSession: `session.participantId` cannot be read \(got Error: getter bug\)\. It is left out\.$/,
    },
    {
      title: 'an id whose getter throws null',
      session: Object.defineProperty({ ...CALL }, 'participantId', { enumerable: true, get: () => { throw null; } }),
      expected: CALL,
      warning: /^opentelemetry-exporter-cif setCifSession: `session.participantId` cannot be read \(got null\)\. It is left out\.$/,
    },
    {
      title: 'an id whose getter throws a value whose message cannot be read',
      session: Object.defineProperty({ ...CALL }, 'participantId', { enumerable: true, get: () => { throw new Proxy({}, { get: () => { throw new Error('trap'); } }); } }),
      expected: CALL,
      warning: /^opentelemetry-exporter-cif setCifSession: `session.participantId` cannot be read \(got object\)\. It is left out\.$/,
    },
    {
      title: 'a null session',
      session: null,
      expected: {},
      warning: /^opentelemetry-exporter-cif setCifSession: `session` must be a plain object \(got null\)\. It is left out\.$/,
    },
    {
      title: 'a session that is not an object',
      session: 'conv-1',
      expected: {},
      warning: /setCifSession: `session` must be a plain object \(got 'conv-1'\)\. It is left out\./,
    },
  ];
  it('keeps the enclosing session as it is when given no session at all, as an untyped caller may', () => {
    const messages = captureDiag();
    const outer = { conversationId: 'conv-0', providerSessionId: 'prov-0' };
    const ctx = setCifSession(setCifSession(ROOT_CONTEXT, outer), undefined as never);
    expect(getCifSession(ctx)).to.deep.equal(outer);
    expect(messages).to.deep.equal([]);
  });

  it('changes nothing when given no session at all where there was none, so CifSampler leaves the spans inside to its sampler', () => {
    const provider = new BasicTracerProvider({ sampler: new CifSampler(new AlwaysOffSampler()) });
    const ctx = setCifSession(ROOT_CONTEXT, undefined as never);
    expect(getCifSession(ctx)).to.equal(undefined);
    const span = withCifSession(undefined as never, () => provider.getTracer('widget').startSpan('idle'));
    expect(span.isRecording()).to.equal(false);
  });

  invalid.forEach(({ title, session, expected }) =>
    it(`leaves out ${title} in a nested session without keeping the enclosing session's id in its place`, () => {
      captureDiag();
      const outer = { conversationId: 'conv-0', providerSessionId: 'prov-0', clientSessionId: 'tab-0', participantId: 'agent-0' };
      const ctx = setCifSession(setCifSession(ROOT_CONTEXT, outer), session as CifSession);
      // The outer fields the session does not name are kept; none is, beside a session that is not an object.
      const kept = typeof session === 'object' && session !== null ? Object.entries(outer).filter(([field]) => !(field in session)) : [];
      expect(getCifSession(ctx)).to.deep.equal({ ...Object.fromEntries(kept), ...expected });
    }),
  );
  invalid.forEach(({ title, session, expected, warning }) =>
    it(`leaves out ${title} with a diag warning instead of throwing`, () => {
      const lines = captureLevels();
      const ctx = setCifSession(ROOT_CONTEXT, session as CifSession);
      expect(getCifSession(ctx)).to.deep.equal(expected);
      const messages = leftOut(lines);
      expect(messages).to.have.length(1);
      expect(messages[0]).to.match(warning);
    }),
  );

  it('leaves out a revoked proxy as a session that is not an object, with a diag warning instead of throwing', () => {
    const lines = captureLevels();
    const { proxy, revoke } = Proxy.revocable({ conversationId: 'conv-1' }, {});
    revoke();
    const outer = setCifSession(ROOT_CONTEXT, { conversationId: 'conv-0', providerSessionId: 'prov-0' });
    expect(getCifSession(setCifSession(outer, proxy))).to.deep.equal({});
    expect(leftOut(lines)).to.deep.equal(['opentelemetry-exporter-cif setCifSession: `session` must be a plain object (got object). It is left out.']);
  });
});

describe('withCifSession', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());

  it('runs the function with the session in the active context and returns its result', () => {
    const seen = withCifSession(CALL, () => getCifSession());
    expect(seen).to.deep.equal(CALL);
    expect(getCifSession()).to.equal(undefined);
  });

  it('passes this and the arguments through, as context.with does', () => {
    const target = { prefix: 'call' };
    const result = withCifSession(
      CALL,
      function (this: typeof target, a: number, b: number) {
        return `${this.prefix}:${a + b}:${getCifSession()?.conversationId}`;
      },
      target,
      1,
      2,
    );
    expect(result).to.equal('call:3:conv-1');
  });

  it('merges a nested session over the enclosing one, and restores the enclosing one after', () => {
    const seen = withCifSession(CALL, () => {
      const inner = withCifSession({ participantId: 'agent-7' }, () => getCifSession());
      return { inner, after: getCifSession() };
    });
    expect(seen).to.deep.equal({ inner: { ...CALL, participantId: 'agent-7' }, after: CALL });
  });

  it('keeps the session across an await with AsyncLocalStorageContextManager', async () => {
    const seen = await withCifSession(CALL, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return getCifSession();
    });
    expect(seen).to.deep.equal(CALL);
  });
});

// A context manager of the page's own (a framework's, a copy of an old one) may answer something that is no Context:
// the session cannot be carried then, and the widget's function still runs; its KPI events lack the ids, and are counted.
describe('withCifSession and setCifSession under a context manager whose active() is no Context', () => {
  afterEach(() => context.disable());

  const install = (active: () => unknown): void => {
    context.setGlobalContextManager(contextManagerWith((_ctx, fn, thisArg, ...args) => fn.call(thisArg, ...args), active));
  };

  for (const [what, active] of [
    ['undefined', () => undefined],
    ['a plain object', () => ({})],
    ['a context whose setValue throws', () => Object.assign(Object.create(ROOT_CONTEXT) as object, { setValue: () => { throw new Error('frozen'); } })],
  ] as const) {
    it(`runs the widget's function and throws nothing where active() answers ${what}`, () => {
      install(active);
      expect(withCifSession(CALL, () => 'ran')).to.equal('ran');
      const ctx = context.active();
      expect(setCifSession(ctx, CALL)).to.equal(ctx);
    });

    it(`answers no session from getCifSession(), in the widget's function too, and throws nothing where active() answers ${what}`, () => {
      install(active);
      expect(withCifSession(CALL, () => getCifSession())).to.equal(undefined);
      expect(getCifSession()).to.equal(undefined);
      expect(getCifSession(context.active())).to.equal(undefined);
    });
  }

  it("runs the widget's function, with its this and arguments, without the session, and throws nothing where active() throws", () => {
    // Its `with` reads the context it is given, as a manager may.
    context.setGlobalContextManager(
      contextManagerWith(
        (ctx, fn, thisArg, ...args) => (ctx.getValue(Symbol.for('page')), fn.call(thisArg, ...args)),
        () => {
          throw new ReferenceError('Zone is not defined');
        },
      ),
    );
    const widget = { name: 'softphone' };
    expect(withCifSession(CALL, function (this: typeof widget, call: string) {
      return [this.name, call, getCifSession()];
    }, widget, 'call-1')).to.deep.equal(['softphone', 'call-1', undefined]);
  });
});
