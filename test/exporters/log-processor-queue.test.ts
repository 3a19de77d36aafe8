/**
 * Without the outbox an export lasts until its calls settle, so while CIF starts the logs SDK's
 * batch processor holds what the page emits meanwhile, up to its own maxQueueSize, as
 * docs/page-lifecycle.md says: what it drops past that the exporter never sees.
 */
import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { ROOT_CONTEXT, TraceFlags, diag, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { expect } from 'chai';
import { CifLogRecordExporter, emitKpiEvent } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';

describe('CifLogRecordExporter without the outbox, behind a BatchLogRecordProcessor while CIF starts', () => {
  let clock: InstalledClock;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'], now: 1_800_000_000_000 });
  });
  afterEach(async () => {
    await clock.runAllAsync();
    clock.uninstall();
    diag.disable();
  });

  /** A widget that emits a KPI event, 2048 log lines while CIF starts, then a second KPI event; what its host got, and the records the exporter saw. */
  async function startWithChattyLogs(processorQueue?: number): Promise<{ sent: string[]; seen: number }> {
    let ready!: () => void;
    const client = new RecordingCifClient();
    const exporter = new CifLogRecordExporter({ client, ready: new Promise<void>((resolve) => (ready = resolve)), outbox: false });
    const resource = resourceFromAttributes({ 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' });
    const provider = new LoggerProvider({ resource, processors: [new BatchLogRecordProcessor({ exporter, maxQueueSize: processorQueue })] });
    const logger = provider.getLogger('softphone');
    const call = trace.setSpanContext(ROOT_CONTEXT, { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED });
    try {
      emitKpiEvent(logger, 'WidgetLoaded', undefined, { context: call });
      await clock.tickAsync(1_000); // The processor's schedule: its export now waits for CIF.
      for (let i = 0; i < 2048; i++) logger.emit({ body: `softphone: registering line ${i}` });
      emitKpiEvent(logger, 'AgentAvailable', undefined, { context: call });
      await clock.tickAsync(10_000);
      ready();
      await clock.tickAsync(5_000);
      await provider.forceFlush();
      return { sent: client.calls.map((c) => c.eventName), seen: exporter.getStats().logRecordsSeen };
    } finally {
      const closing = provider.shutdown();
      await clock.runAllAsync();
      await closing;
    }
  }

  it('never sees a record past the processor default maxQueueSize, 2048, so a KPI event emitted then is lost uncounted', async () => {
    expect(await startWithChattyLogs()).to.deep.equal({ sent: ['WidgetLoaded'], seen: 2049 });
  });

  it('sends it once the processor maxQueueSize holds what the page emits while CIF starts', async () => {
    expect(await startWithChattyLogs(4096)).to.deep.equal({ sent: ['WidgetLoaded', 'AgentAvailable'], seen: 2050 });
  });
});
