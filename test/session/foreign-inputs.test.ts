import { context, diag, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { expect } from 'chai';
import { CifSessionSpanProcessor, getCifSession, recordKpiEvent, setCifSession, withCifSession, type CifSession, type CifStartingSpan } from '../../src/index.js';
import { CifSessionLogRecordProcessor, emitKpiEvent, type CifEmittingLogRecord } from '../../src/logs.js';
import type { normalizeSession } from '../../src/options.js';
import { check } from '../../src/validate.js';
import { captureDiag, captureLevels } from '../helpers/diag.js';
import { logPipeline, spanPipeline } from '../helpers/pipelines.js';
import { unhandledRejectionsOf } from '../helpers/unhandled.js';

const CALL: CifSession = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

describe('the session helpers, given what other SDKs and CIF make', () => {
  it('catch the rejection of a span or log record of another SDK whose setAttribute answers with a promise', async () => {
    captureDiag();
    const ctx = setCifSession(ROOT_CONTEXT, CALL);
    const asyncTarget = () => ({
      attributes: {},
      setAttribute: async () => {
        throw new Error('read-only');
      },
    });
    const unhandled = await unhandledRejectionsOf(() => {
      new CifSessionSpanProcessor().onStart(asyncTarget() as unknown as CifStartingSpan, ctx);
      new CifSessionLogRecordProcessor().onEmit(asyncTarget() as unknown as CifEmittingLogRecord, ctx);
    });
    expect(unhandled).to.deep.equal([]);
  });

  it("says of a session given as CIF getSession's Map that it must be a plain object", () => {
    const lines = captureLevels();
    const fromGetSession = new Map([['conversationId', 'conv-1']]);
    expect(getCifSession(setCifSession(ROOT_CONTEXT, fromGetSession as unknown as CifSession))).to.deep.equal({});
    // At WARN, or at DEBUG once another test warned of the field.
    expect(lines.map((line) => line.replace(/^(warn|debug) /, ''))).to.deep.equal(['setCifSession: `session` must be a plain object (got [object Map]). It is left out.']);
  });

  it('names withCifSession in the warnings of a session given to it, as the function the widget called', () => {
    const lines = captureLevels();
    withCifSession({ ...CALL, participantId: 7 } as unknown as CifSession, () => {});
    // At WARN, or at DEBUG once another test warned of the field.
    expect(lines.map((line) => line.replace(/^(warn|debug) /, ''))).to.deep.equal([
      'withCifSession: `session.participantId` must be a string of at most 100 characters (got 7). It is left out.',
    ]);
  });

  it('warns of a field left out once per page, then at DEBUG, as a page sets its sessions at every call', async () => {
    // A copy of the module of its own: the warning is once per page, and other tests may have used it.
    const copy = (await import(`../../src/options.ts?session-warned-${Date.now()}`)) as { normalizeSession: typeof normalizeSession };
    const lines = captureLevels();
    for (let i = 0; i < 3; i++) copy.normalizeSession({ conversationId: 'conv-1', providerSessionId: 4711 } as unknown as CifSession, check('setCifSession:'), ' It is left out.');
    const warning = 'setCifSession: `session.providerSessionId` must be a string of at most 100 characters (got 4711). It is left out.';
    expect(lines).to.deep.equal([`warn ${warning}`, `debug ${warning}`, `debug ${warning}`]);
  });

  it('warns of a session that is no object apart from its fields: a Map after a conversationId', async () => {
    const copy = (await import(`../../src/options.ts?session-apart-${Date.now()}`)) as { normalizeSession: typeof normalizeSession };
    const leftOut = (session: unknown) => copy.normalizeSession(session as CifSession, check('setCifSession:'), ' It is left out.');
    const lines = captureLevels();
    leftOut({ conversationId: 7 });
    leftOut(new Map([['conversationId', 'conv-1']]));
    expect(lines.map((line) => line.split(' ', 2).join(' '))).to.deep.equal(['warn setCifSession:', 'warn setCifSession:']);
  });
});

const T1 = '2026-11-25T10:15:30.123Z';
const SENT = [{ ...CALL, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }] }];

/** The context key every copy of the library uses (a registered symbol), so another bundle on the page may have set it. */
const SESSION_KEY = Symbol.for('opentelemetry-exporter-cif session');

/**
 * Runs `record` under `withCifSession(CALL)` while `tamper` has changed a page global, and gives
 * what was thrown into the page, if anything; the global is put back before anything else runs.
 */
function underTamperedPage(tamper: () => () => void, record: () => void): unknown {
  const restore = tamper();
  try {
    withCifSession(CALL, record);
  } catch (error) {
    return error;
  } finally {
    restore();
  }
  return undefined;
}

/** A tamper that defines `Object.prototype.toJSON`, as a page library may, and returns how to take it away. */
function objectToJson(toJSON: () => unknown): () => () => void {
  return () => {
    Object.defineProperty(Object.prototype, 'toJSON', { value: toJSON, configurable: true, writable: true });
    return () => void Reflect.deleteProperty(Object.prototype, 'toJSON');
  };
}

const TAMPERED: Array<[what: string, tamper: () => () => void]> = [
  ['a page library gave Object.prototype a toJSON that answers undefined', objectToJson(() => undefined)],
  ['a page library gave Object.prototype a toJSON that answers a plain copy without the fields', objectToJson(() => ({}))],
  [
    "the page's JSON.stringify was replaced by one that throws",
    () => {
      const real = JSON.stringify;
      JSON.stringify = () => {
        throw new Error('page JSON.stringify');
      };
      return () => {
        JSON.stringify = real;
      };
    },
  ],
];

describe('the session helpers and getStats() on a page whose JSON a page library changed', () => {
  beforeEach(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  afterEach(() => {
    context.disable();
    diag.disable();
  });

  TAMPERED.forEach(([what, tamper]) => {
    it(`withCifSession does not throw into the page, and sends the span KPI event with the session's ids, when ${what}`, async () => {
      const { client, tracer, flush } = spanPipeline();
      const thrown = underTamperedPage(tamper, () => {
        const span = tracer.startSpan('accept call');
        recordKpiEvent(span, 'CallAccepted', undefined, new Date(T1));
        span.end();
      });
      await flush();
      expect(thrown, 'thrown into the page').to.equal(undefined);
      expect(client.payloads()).to.deep.equal(SENT);
    });

    it(`withCifSession does not throw into the page, and sends the log-based KPI event with the session's ids, when ${what}`, async () => {
      const { client, exporter, logger, flush } = logPipeline();
      const thrown = underTamperedPage(tamper, () => emitKpiEvent(logger, 'CallAccepted', undefined, { time: new Date(T1) }));
      await flush();
      expect(thrown, 'thrown into the page').to.equal(undefined);
      // The correlationId of a record outside a trace is named without the page's JSON.
      expect([client.payloads(), exporter.getStats().dropped.invalid_log_record]).to.deep.equal([SENT, 0]);
    });

    it(`groups KPI events with maxEventsPerCall and cuts a value to its column when ${what}`, async () => {
      const { client, exporter, tracer, flush } = spanPipeline({ maxEventsPerCall: 2 });
      const thrown = underTamperedPage(tamper, () => {
        const span = tracer.startSpan('accept call', { attributes: { 'cif.kpi.reason': 'r'.repeat(150) } });
        recordKpiEvent(span, 'CallHeld', undefined, new Date(T1));
        recordKpiEvent(span, 'CallHeld', undefined, new Date(T1));
        span.end();
      });
      await flush();
      expect(thrown, 'thrown into the page').to.equal(undefined);
      const event = (kpiEventName: string) => ({ kpiEventName, eventTimestamp: T1, kpiEventReason: 'r'.repeat(100) });
      expect(client.payloads()).to.deep.equal([{ ...CALL, events: [event('CallHeld'), event('CallHeld')] }]);
      expect(exporter.getStats().truncated.kpiEventReason).to.equal(2);
    });

    it(`getStats() answers every counter when ${what}`, async () => {
      const { exporter, tracer, flush } = spanPipeline();
      withCifSession(CALL, () => {
        const span = tracer.startSpan('accept call');
        recordKpiEvent(span, 'CallAccepted', undefined, new Date(T1));
        span.end();
      });
      await flush();
      const restore = tamper();
      let stats;
      try {
        stats = exporter.getStats();
      } finally {
        restore();
      }
      expect(stats).to.deep.equal(exporter.getStats());
      expect(stats).to.deep.include({ spansSeen: 1, kpiEventsDelivered: 1 });
    });
  });

  it('setCifSession does not throw when the context carries, under the key all copies share, a session of another bundle that cannot be read', () => {
    const unreadable = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('revoked by the other bundle');
        },
        get() {
          throw new Error('revoked by the other bundle');
        },
      },
    );
    let ctx = ROOT_CONTEXT;
    expect(() => (ctx = setCifSession(ROOT_CONTEXT.setValue(SESSION_KEY, unreadable), CALL))).not.to.throw();
    expect(getCifSession(ctx)).to.deep.equal(CALL);
  });
});
