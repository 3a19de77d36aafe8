// Readiness with the outbox: where the page's window methods throw (a sandboxed
// or hardened page), docs/delivery.md promises the exporter "looks for Microsoft.CIFramework at the
// first call and when a wait runs out". Through the real trace SDK.
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSpanExporter } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { expectBalanced, installCifWithoutInitDone, removePageCif } from '../helpers/fake-client.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { useFakeClock } from '../helpers/pipelines.js';
import { IDENTITY } from '../helpers/spans.js';
import { createLockManager, MemoryStore } from '../helpers/web-storage.js';

describe('readiness of the page library with the outbox', () => {
  const g = globalThis as Record<string, unknown>;
  const fake = useFakeClock(() => {
    delete g['addEventListener'];
    delete g['removeEventListener'];
    removePageCif();
  });

  // docs/delivery.md, Hostile input: "an `addEventListener` that throws leaves the constructors
  // working: the exporter warns once that it cannot hear `CIFInitDone` and looks for
  // `Microsoft.CIFramework` at the first call and when a wait runs out". The outbox, whose store
  // holds no other page, ends its first pass in the constructor: that is no call, and no look.
  it('finds at the first call a Microsoft.CIFramework that loaded after construction, when addEventListener throws and the outbox is on', async () => {
    g['addEventListener'] = () => {
      throw new Error('sandboxed');
    };
    g['removeEventListener'] = () => {};
    const locks = createLockManager().client();
    const exporter = withPageGlobals({ navigator: { locks: locks.locks } }, () => new CifSpanExporter({ outbox: { store: new MemoryStore(), name: 'widget' } }));
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    fake.closeables.push(provider, exporter);
    await fake.clock.tickAsync(0);
    // The CIF library's script loads after the widget made its exporter.
    const host = new RecordingCifClient();
    installCifWithoutInitDone(host);
    const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
    span.addEvent('CallAccepted');
    span.end();
    await fake.clock.tickAsync(0);
    expect(host.calls, 'calls made at the first call').to.have.length(1);
    expectBalanced(exporter.getStats());
  });
});
