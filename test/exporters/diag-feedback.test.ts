import { diag, DiagLogLevel } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSpanExporter, recordKpiEvent, type CifAnalyticsClient } from '../../src/index.js';
import { useFakeClock } from '../helpers/pipelines.js';
import { IDENTITY } from '../helpers/spans.js';

describe('a diag logger that sends each line it is told as a KPI event, while the host refuses every call', () => {
  const time = useFakeClock();

  it("causes a bounded number of calls when it sends only this library's WARN lines: each reason is warned of once", async () => {
    const client: CifAnalyticsClient = { logAnalyticsEvent: () => Promise.reject(new Error('provider not active')) };
    const exporter = new CifSpanExporter({ client, outbox: false });
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    time.closeables.push(provider);
    const tracer = provider.getTracer('softphone');
    let lines = 0;
    const line = (...args: unknown[]): void => {
      // This library's lines only: the SDK reports each failed export at ERROR, which would feed it too.
      if (args[0] !== 'opentelemetry-exporter-cif') return;
      lines++;
      const span = tracer.startSpan('diag line', { attributes: IDENTITY });
      recordKpiEvent(span, 'DiagLine', { reason: args.map(String).join(' ').slice(0, 100) });
      span.end();
    };
    diag.setLogger({ error: line, warn: line, info: line, debug: line, verbose: line }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
    line('opentelemetry-exporter-cif', 'agent went offline');
    await time.clock.tickAsync(10 * 60_000);
    diag.disable();
    const stats = exporter.getStats();
    expect([lines, stats.callsMade, stats.dropped.host_error, stats.kpiEventsPending, time.clock.countTimers()]).to.deep.equal([2, 6, 2, 0, 0]);
  });
});
