import { context, diag, DiagLogLevel, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { expect } from 'chai';
import { setCifSession, withCifSession } from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent, type CifEmittingLogRecord } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import type { stampSession } from '../../src/session/stamp.js';
import { captureDiag, captureLevels, installThrowingDiag } from '../helpers/diag.js';

const SESSION = { conversationId: 'conv-1', providerSessionId: 'prov-1', clientSessionId: 'client-1', participantId: 'agent-7' };
const STAMPED = {
  'cif.conversation.id': 'conv-1',
  'cif.provider_session.id': 'prov-1',
  'cif.client_session.id': 'client-1',
  'cif.participant.id': 'agent-7',
};

/** A log record being emitted, as the processor sees it: attributes it can add to. */
function emittingRecord(attributes: Record<string, unknown> = {}): CifEmittingLogRecord & { attributes: Record<string, unknown> } {
  return {
    attributes,
    setAttribute(key, value) {
      attributes[key] = value;
      return this;
    },
  };
}

describe('CifSessionLogRecordProcessor', () => {
  afterEach(() => {
    context.disable();
    diag.disable();
  });

  it('leaves the logger enabled or not by the processors that export, as it exports nothing', () => {
    const dropping = { onEmit: () => {}, enabled: () => false, forceFlush: async () => {}, shutdown: async () => {} } as LogRecordProcessor;
    const provider = new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), dropping] });
    const logger = provider.getLogger('softphone');
    const messages = captureDiag(DiagLogLevel.DEBUG);
    withCifSession(SESSION, () => emitKpiEvent(logger, 'CallAccepted'));
    expect(logger.enabled({ eventName: 'CallAccepted' })).to.equal(false);
    expect(messages.filter((message) => message.includes("KPI event 'CallAccepted' lost"))).to.have.length(1);
  });

  it('warns once that the SDK did not keep an id on a record at its attributeCountLimit, whose KPI event no exporter can then see, then tells each later record at DEBUG, also after a span was warned of', async () => {
    // A copy of the module of its own: the warning is once per page, and other tests may have used it.
    const copy = (await import(`../../src/session/stamp.ts?not-kept-${Date.now()}`)) as { stampSession: typeof stampSession };
    const stamping = { onEmit: (record: CifEmittingLogRecord, ctx: Context) => copy.stampSession(record, ctx, 'log record'), forceFlush: async () => {}, shutdown: async () => {} };
    const provider = new LoggerProvider({ processors: [stamping as unknown as LogRecordProcessor] });
    const attributes = Object.fromEntries(Array.from({ length: 128 }, (_, i) => [`widget.field${i}`, 'x']));
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const lines = captureLevels();
    // A span so full was warned of first: its limits are the tracer provider's, apart from the logger provider's.
    withCifSession(SESSION, () => copy.stampSession({ attributes: {}, setAttribute: () => {} }, undefined, 'span'));
    for (let i = 0; i < 2; i++) withCifSession(SESSION, () => provider.getLogger('softphone').emit({ eventName: 'CallAccepted', attributes }));
    await provider.shutdown();
    expect(lines).to.deep.equal([
      'warn The SDK did not keep cif.conversation.id on a span: raise its attributeCountLimit or attributeValueLengthLimit. Shown once.',
      'warn The SDK did not keep cif.conversation.id on a log record: raise its attributeCountLimit or attributeValueLengthLimit. Shown once.',
      'debug The SDK did not keep cif.conversation.id on a log record: raise its attributeCountLimit or attributeValueLengthLimit.',
    ]);
  });

  it('stamps every id of the emit context session onto the record', () => {
    const record = emittingRecord({ 'call.queue': 'billing' });
    new CifSessionLogRecordProcessor().onEmit(record, setCifSession(ROOT_CONTEXT, SESSION));
    expect(record.attributes).to.deep.equal({ 'call.queue': 'billing', ...STAMPED });
  });

  it('keeps an id the record already carries and stamps only the missing ones', () => {
    const record = emittingRecord({ 'cif.conversation.id': 'conv-own', 'cif.participant.id': 'agent-own' });
    new CifSessionLogRecordProcessor().onEmit(record, setCifSession(ROOT_CONTEXT, SESSION));
    expect(record.attributes).to.deep.equal({
      'cif.conversation.id': 'conv-own',
      'cif.participant.id': 'agent-own',
      'cif.provider_session.id': 'prov-1',
      'cif.client_session.id': 'client-1',
    });
  });

  it('fills an id the record carries as an empty string, which the mapping reads as absent', () => {
    const record = emittingRecord({ 'cif.conversation.id': '' });
    new CifSessionLogRecordProcessor().onEmit(record, setCifSession(ROOT_CONTEXT, SESSION));
    expect(record.attributes).to.deep.equal(STAMPED);
  });

  it('stamps only the ids the session has', () => {
    const record = emittingRecord();
    new CifSessionLogRecordProcessor().onEmit(record, setCifSession(ROOT_CONTEXT, { conversationId: 'conv-1' }));
    expect(record.attributes).to.deep.equal({ 'cif.conversation.id': 'conv-1' });
  });

  it('leaves a record emitted outside any CIF session untouched', () => {
    const record = emittingRecord({ 'call.queue': 'billing' });
    record.setAttribute = () => {
      throw new Error('setAttribute must not be called');
    };
    const messages = captureDiag();
    new CifSessionLogRecordProcessor().onEmit(record, ROOT_CONTEXT);
    expect(record.attributes).to.deep.equal({ 'call.queue': 'billing' });
    expect(messages).to.deep.equal([]);
  });

  it('takes the session of the active context when given no emit context', () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const record = emittingRecord();
    withCifSession(SESSION, () => new CifSessionLogRecordProcessor().onEmit(record));
    expect(record.attributes).to.deep.equal(STAMPED);
  });

  it('resolves forceFlush and shutdown at once, as promises the SDK can chain, exporting nothing itself', async () => {
    const processor = new CifSessionLogRecordProcessor();
    const settled: unknown[] = [];
    processor.forceFlush().then((value) => settled.push(['forceFlush', value]));
    processor.shutdown().then((value) => settled.push(['shutdown', value]));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).to.deep.equal([
      ['forceFlush', undefined],
      ['shutdown', undefined],
    ]);
  });

  const hostile: Array<[string, () => CifEmittingLogRecord]> = [
    ['whose setAttribute throws', () => ({ attributes: {}, setAttribute: () => { throw new Error('read-only record'); } })],
    ['whose attributes getter throws', () => ({ get attributes(): Record<string, unknown> { throw new Error('attributes trap'); }, setAttribute: () => undefined })],
    ['that is a revoked Proxy', () => {
      const revocable = Proxy.revocable(emittingRecord(), {});
      revocable.revoke();
      return revocable.proxy;
    }],
  ];
  hostile.forEach(([what, make]) =>
    it(`does not throw on a record ${what}, and says at error level that it could not stamp it`, () => {
      const messages = captureDiag();
      expect(() => new CifSessionLogRecordProcessor().onEmit(make(), setCifSession(ROOT_CONTEXT, SESSION))).not.to.throw();
      expect(messages).to.have.length(1);
      expect(messages[0]).to.include('could not stamp the CIF session on a log record');
    }),
  );

  it('does not throw when the record and the installed diag logger both throw', () => {
    const restore = installThrowingDiag();
    try {
      const record = { attributes: {}, setAttribute: () => { throw new Error('read-only record'); } };
      expect(() => new CifSessionLogRecordProcessor().onEmit(record, setCifSession(ROOT_CONTEXT, SESSION))).not.to.throw();
    } finally {
      restore();
    }
  });

  describe('in a real LoggerProvider', () => {
    let provider: LoggerProvider | undefined;
    beforeEach(() => {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    });
    afterEach(async () => {
      await provider?.shutdown();
      provider = undefined;
    });

    function setup(processors: LogRecordProcessor[]) {
      provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': 'softphone' }), processors });
      return provider.getLogger('softphone');
    }

    it('stamps records emitted under withCifSession before a Simple processor registered after it exports them', async () => {
      const memory = new InMemoryLogRecordExporter();
      const logger = setup([new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter: memory })]);
      withCifSession(SESSION, () => {
        logger.emit({ eventName: 'CallAccepted', attributes: { 'cif.participant.id': 'agent-own' } });
        logger.emit({ body: 'a plain log line' });
      });
      logger.emit({ eventName: 'Outside' });
      await provider!.forceFlush();
      expect(memory.getFinishedLogRecords().map((r) => [r.eventName, r.attributes])).to.deep.equal([
        ['CallAccepted', { ...STAMPED, 'cif.participant.id': 'agent-own' }],
        [undefined, STAMPED],
        ['Outside', {}],
      ]);
    });

    it('sends the KPI event of a stamped record when registered before the exporting Simple processor', async () => {
      const client = new RecordingCifClient();
      const exporter = new CifLogRecordExporter({ client });
      const logger = setup([new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter })]);
      withCifSession(SESSION, () => emitKpiEvent(logger, 'CallAccepted', undefined, { time: new Date('2026-11-25T10:15:30.123Z') }));
      await provider!.forceFlush();
      await exporter.forceFlush();
      expect(client.calls.map((c) => c.data)).to.deep.equal([
        { ...SESSION, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: '2026-11-25T10:15:30.123Z' }] },
      ]);
    });

    it('comes too late when registered after a Simple processor: the record is exported unstamped and counted as missing_identity', async () => {
      const client = new RecordingCifClient();
      const exporter = new CifLogRecordExporter({ client });
      const logger = setup([new SimpleLogRecordProcessor({ exporter }), new CifSessionLogRecordProcessor()]);
      withCifSession(SESSION, () => emitKpiEvent(logger, 'CallAccepted'));
      await provider!.forceFlush();
      await exporter.forceFlush();
      expect(client.calls).to.deep.equal([]);
      const stats = exporter.getStats();
      expect(stats.dropped.missing_identity).to.equal(1);
      expect(stats).to.include({ logRecordsSeen: 1, cifLogRecords: 1, kpiEventsSent: 0 });
    });
  });
});
