/**
 * Log-based KPI events (opentelemetry-exporter-cif/logs) wired as the docs say, beside span events,
 * against the real @opentelemetry/sdk-logs.
 */
import { context, diag } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifDelivery, CifSessionSpanProcessor, CifSpanExporter, withCifSession } from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureLevels } from '../helpers/diag.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };
/** What CifSessionLogRecordProcessor says when it stamps a record its exporter's processor had already exported. */
const LATE =
  "CifSessionLogRecordProcessor stamped the CIF session on a log record already exported without it, so it was mapped without the call's ids: as no KPI event, dropped (missing_identity), or sent with the ids of its resource or the session option. Register CifSessionLogRecordProcessor before the processor of CifLogRecordExporter";

describe('log-based KPI events wired as the docs say', () => {
  beforeEach(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  afterEach(() => {
    context.disable();
    diag.disable();
  });

  /** One delivery, a span pipeline and a log pipeline, each with its session processor first, as the docs wire them. */
  function pipelines() {
    const client = new RecordingCifClient();
    const delivery = new CifDelivery({ client, outbox: false });
    const logExporter = new CifLogRecordExporter({ delivery });
    const tracers = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(new CifSpanExporter({ delivery }))] }));
    const loggers = shutDownAfterTest(new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter: logExporter })] }));
    return { client, logExporter, tracer: tracers.getTracer('softphone'), logger: loggers.getLogger('softphone'), tracers, loggers };
  }

  it('sends a log event whose eventName is a number as the span event of that name is sent, not as dropped.missing_kpi_name', async () => {
    captureLevels();
    const { client, logExporter, tracer, logger, tracers, loggers } = pipelines();
    withCifSession(CALL, () => {
      // An untyped caller (a numeric enum, a code from the telephony SDK): the same value, once as a span event, once as a log event.
      const span = tracer.startSpan('call');
      span.addEvent(42 as unknown as string);
      span.end();
      logger.emit({ eventName: 42 as unknown as string });
    });
    await tracers.forceFlush();
    await loggers.forceFlush();
    // The span event goes as '42' (values are strings through String(), docs/mapping.md); the log event, a CIF record with a
    // non-empty eventName (docs/log-based-events.md), is counted as having no name.
    expect({ names: client.calls.map((call) => call.eventName), missingName: logExporter.getStats().dropped.missing_kpi_name }).to.deep.equal({ names: ['42', '42'], missingName: 0 });
  });

  it('counts a CIF log line whose eventName is null as a plain record, not as a KPI event dropped for its name', async () => {
    const lines = captureLevels();
    const { client, logExporter, logger, loggers } = pipelines();
    // A log line (no event) of a bridge that writes every field, under a call's session: only counted, as the docs say.
    withCifSession(CALL, () => logger.emit({ eventName: null as unknown as string, body: 'softphone: line registered' }));
    await loggers.forceFlush();
    expect(client.calls).to.deep.equal([]);
    expect(logExporter.getStats().cifLogRecords).to.equal(1);
    expect({ missingName: logExporter.getStats().dropped.missing_kpi_name, warned: lines.filter((line) => line.includes('missing_kpi_name')) }).to.deep.equal({ missingName: 0, warned: [] });
  });

  it('warns once, then at DEBUG, that CifSessionLogRecordProcessor stamped records its SimpleLogRecordProcessor had already exported', async () => {
    // A copy of the modules of its own, which share their imports: the warning is once per page, and other tests may have used it.
    const query = `?late-${Date.now()}`;
    const copy = {
      ...((await import(`../../src/logs.ts${query}`)) as { CifLogRecordExporter: typeof CifLogRecordExporter; CifSessionLogRecordProcessor: typeof CifSessionLogRecordProcessor }),
      ...((await import(`../../src/index.ts${query}`)) as { withCifSession: typeof withCifSession }),
    };
    const lines = captureLevels();
    const client = new RecordingCifClient();
    const exporter = new copy.CifLogRecordExporter({ client, outbox: false });
    // The wrong order: the exporter's processor first, so the record is exported before the session's ids are stamped.
    const provider = shutDownAfterTest(new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter }), new copy.CifSessionLogRecordProcessor()] }));
    const logger = provider.getLogger('softphone');
    copy.withCifSession(CALL, () => {
      logger.emit({ eventName: 'CallAccepted' });
      logger.emit({ eventName: 'CallEnded' });
    });
    // With the ids already on it, the record is not stamped: nothing was lost, nothing is said.
    logger.emit({ eventName: 'CallHeld', attributes: { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' } });
    await provider.forceFlush();
    await exporter.forceFlush();
    expect(client.calls.map((call) => call.eventName)).to.deep.equal(['CallHeld']);
    const late = LATE;
    expect(lines.filter((line) => line.includes('CifSessionLogRecordProcessor'))).to.deep.equal([`warn ${late}. Shown once.`, `debug ${late}.`]);
  });

  it("says that a record stamped too late was mapped without the call's ids, also when the session option's ids sent it", async () => {
    const lines = captureLevels();
    const client = new RecordingCifClient();
    const exporter = new CifLogRecordExporter({ client, outbox: false, session: { conversationId: 'page-conv', providerSessionId: 'page-prov' } });
    const provider = shutDownAfterTest(new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter }), new CifSessionLogRecordProcessor()] }));
    withCifSession(CALL, () => emitKpiEvent(provider.getLogger('softphone'), 'CallAccepted'));
    await provider.forceFlush();
    await exporter.forceFlush();
    expect(client.payloads().map((data) => [data.conversationId, data.events[0]!.kpiEventName])).to.deep.equal([['page-conv', 'CallAccepted']]);
    // Warned once a process: the test before may have warned it first.
    expect(lines.filter((line) => line.includes('CifSessionLogRecordProcessor')).map((line) => line.replace(/^\w+ /, '').replace(/\. Shown once\.$/, '.'))).to.deep.equal([`${LATE}.`]);
  });

  it('says nothing of the order when CifSessionLogRecordProcessor comes first, as the docs wire it', async () => {
    const lines = captureLevels();
    const { client, logger, loggers } = pipelines();
    withCifSession(CALL, () => logger.emit({ eventName: 'CallAccepted' }));
    await loggers.forceFlush();
    expect(client.calls.map((call) => call.eventName)).to.deep.equal(['CallAccepted']);
    expect(lines.filter((line) => line.includes('CifSessionLogRecordProcessor'))).to.deep.equal([]);
  });
});
