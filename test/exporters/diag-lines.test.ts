import { ROOT_CONTEXT } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, setCifSession, type CifSpanExporterOptions } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { installActingDiag } from '../helpers/diag.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

const SESSION = setCifSession(ROOT_CONTEXT, { conversationId: 'conv-1', providerSessionId: 'prov-1' });

/** An exporter, and a provider that exports each span to it as the span ends, the session processor first. */
function setup(options: CifSpanExporterOptions) {
  const exporter = shutDownAfterTest(new CifSpanExporter(options));
  const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)] }));
  const tracer = provider.getTracer('softphone');
  return {
    exporter,
    /** A KPI event under the session. */
    recordOne: () => {
      const span = tracer.startSpan('call', {}, SESSION);
      recordKpiEvent(span, 'CallAccepted');
      span.end();
    },
    /** A KPI event whose span carries a reason over its column, which warns of truncated.kpiEventReason. */
    /** A KPI event under the session whose span names no column, which warns of droppedFields.invalid_custom_column each time. */
    recordBadColumn: () => {
      const span = tracer.startSpan('call', { attributes: { 'cif.kpi.custom.Not a column': 'x' } }, SESSION);
      span.addEvent('CallAccepted');
      span.end();
    },
    recordCut: () => {
      const span = tracer.startSpan('call', { attributes: { 'cif.kpi.reason': 'r'.repeat(101) } }, SESSION);
      span.addEvent('CallAccepted');
      span.end();
    },
    /** A KPI event outside any session: dropped as missing_identity. */
    recordWithoutIds: () => {
      const span = tracer.startSpan('wrap-up', { attributes: { 'cif.kpi.reason': 'x' } }, ROOT_CONTEXT);
      span.addEvent('WrapUp');
      span.end();
    },
  };
}

/** The WARN lines of a diag logger that runs `act` once, at the first line it is told. */
function actOnceAtFirstLine(act: () => void): { warnings: string[]; restore: () => void } {
  const warnings: string[] = [];
  let acted = false;
  const restore = installActingDiag((level, line) => {
    if (level === 'warn') warnings.push(line);
    if (!acted) {
      acted = true;
      act();
    }
  });
  return { warnings, restore };
}

describe('what the exporters tell and count while the page\'s diag logger acts on a line', () => {
  it('warns once of dropped.missing_identity even when its first drop came from a span a diag logger recorded while told of another counter', () => {
    const { exporter, recordCut, recordWithoutIds } = setup({ client: new RecordingCifClient() });
    const { warnings, restore } = actOnceAtFirstLine(recordWithoutIds);
    try {
      recordCut(); // Warns of truncated.kpiEventReason; the logger records a span without ids then.
      recordWithoutIds(); // The page's own drop, caused by no logger: the once-per-counter warning is due.
    } finally {
      restore();
    }
    expect(exporter.getStats().dropped.missing_identity).to.equal(2);
    expect(warnings.filter((line) => line.includes('getStats().dropped.missing_identity'))).to.have.length(1);
  });

  it('warns once of dropped.queue_full even when its first drop came from a span a diag logger recorded while told of another counter', async () => {
    let release!: (answer: string) => void;
    const hold = new Promise<string>((resolve) => (release = resolve));
    const { exporter, recordOne, recordCut } = setup({ client: new RecordingCifClient({ answer: () => hold }), maxQueueSize: 1 });
    recordOne(); // Pending at the host: the queue is full from now on.
    const { warnings, restore } = actOnceAtFirstLine(recordOne);
    try {
      recordCut(); // Warns of truncated.kpiEventReason; the logger records a KPI event, refused as queue_full.
      recordOne(); // The page's own refusals, caused by no logger: the once-per-reason warning is due.
      release('ok');
      await exporter.forceFlush();
    } finally {
      restore();
    }
    expect(exporter.getStats().dropped.queue_full).to.equal(3);
    expect(warnings.filter((line) => line.includes('getStats().dropped.queue_full'))).to.have.length(1);
  });

  // A logger that sends each line as a KPI event, its text as the reason: the line its forward causes is forwarded in
  // turn from within a line caused, where what is caused is counted, not told. A warning is told there all the same.
  it('warns once of truncated.kpiEventReason even when its first cut came from a line a diag logger forwarded while told of a line it had caused', async () => {
    let release!: (answer: string) => void;
    const hold = new Promise<string>((resolve) => (release = resolve));
    const exporter = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient({ answer: () => hold }), maxQueueSize: 1 }));
    const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)] }));
    const record = (name: string, reason: string) => {
      const span = provider.getTracer('softphone').startSpan('call', {}, SESSION);
      recordKpiEvent(span, name, { reason });
      span.end();
    };
    record('A', 'x'); // Pending at the host: the queue is full from now on.
    const warnings: string[] = [];
    let forwarding = true;
    const restore = installActingDiag((level, line) => {
      if (level === 'warn') warnings.push(line);
      if (forwarding) record('DiagnosticLine', line.slice(line.indexOf(' ') + 1));
    });
    try {
      // "call 'B' given up as queue_full: ..." (97 characters) is forwarded whole; "call 'DiagnosticLine' given up as
      // queue_full: ..." (110), which that forward causes, is forwarded from within it, and cut.
      record('B', 'x');
      forwarding = false;
      record('C', 'r'.repeat(150)); // The page's own cut.
      release('ok');
      await exporter.forceFlush();
    } finally {
      restore();
    }
    expect(exporter.getStats().truncated.kpiEventReason).to.be.at.least(2);
    expect(warnings.filter((line) => line.includes('getStats().truncated.kpiEventReason'))).to.have.length(1);
  });

  it('delivers each span a diag logger records while it is told a line, also while it is told the lines that caused', async () => {
    const client = new RecordingCifClient();
    const { exporter, recordBadColumn } = setup({ client });
    let recorded = 0;
    const record = () => {
      recorded++;
      recordBadColumn(); // Each warns of droppedFields.invalid_custom_column: at WARN, then at DEBUG.
    };
    // At each line it is told, the logger records one more span, five at most.
    const restore = installActingDiag(() => recorded < 5 && record());
    try {
      record();
      await exporter.forceFlush();
    } finally {
      restore();
    }
    // The page's span, the one recorded at its warning, and the one recorded at the line that caused.
    expect([recorded, client.calls.length, exporter.getStats().kpiEventsDelivered]).to.deep.equal([3, 3, 3]);
  });

  it('shows, at every diag line, each pending call as queued or in flight, as callsQueued and callsInFlight say "right now"', async () => {
    let ready!: () => void;
    const client = new RecordingCifClient({ answer: () => Promise.reject(new Error('Provider not active')) });
    const { exporter, recordOne } = setup({ client, ready: new Promise<void>((resolve) => (ready = resolve)), retry: { maxAttempts: 1 } });
    const wrong: string[] = [];
    const restore = installActingDiag((_level, line) => {
      const stats = exporter.getStats();
      // One KPI event per call (maxEventsPerCall 1), and no call abandoned: the calls pending are those queued or in flight.
      if (stats.callsQueued + stats.callsInFlight !== stats.kpiEventsPending) {
        wrong.push(`${line.split('. ')[0]}: kpiEventsPending ${stats.kpiEventsPending}, callsQueued ${stats.callsQueued}, callsInFlight ${stats.callsInFlight}`);
      }
    });
    try {
      recordOne(); // Waits for CIF: "waiting for CIF" at DEBUG.
      ready();
      await exporter.forceFlush(); // Made, rejected, given up as host_error: its DEBUG line and its warning.
    } finally {
      restore();
    }
    expect(exporter.getStats().dropped.host_error).to.equal(1);
    expect(wrong).to.deep.equal([]);
  });
});
