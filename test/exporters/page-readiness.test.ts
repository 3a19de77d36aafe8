// How the delivery finds, waits for and calls the CIF library on a page that does odd things:
// hands a listener an event already fired, loses its library before CIFInitDone, swaps a method out.
import { expect } from 'chai';
import type { CifAnalyticsClient, CifSpanExporterOptions } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { expectBalanced, hangs, installCifWithoutInitDone, pageWindow, removePageCif } from '../helpers/fake-client.js';
import { captureLevels } from '../helpers/diag.js';
import { pageWidget, useFakeClock } from '../helpers/pipelines.js';

describe('finding and waiting for the CIF library on the page', () => {
  const time = useFakeClock(removePageCif);
  /** What the exporter told `diag`, each line as `<level> <message>`. */
  let lines: string[];
  beforeEach(() => {
    lines = captureLevels();
  });

  const widget = (options: CifSpanExporterOptions = {}) => pageWidget(time.closeables, options);

  /**
   * Makes `globalThis` a window whose `addEventListener` hands a `CIFInitDone` listener the event at
   * once when the event already fired (as a page's "sticky event" helper, or a library that helps
   * late listeners, does), through `deliver`. Counts the listeners registered.
   */
  function stickyWindow(deliver: (listener: EventListener, event: Event) => void) {
    const target = new EventTarget();
    const registered = new Set<EventListener>();
    const g = globalThis as Record<string, unknown>;
    let fired = false;
    g['addEventListener'] = (type: string, listener: EventListener) => {
      registered.add(listener);
      target.addEventListener(type, listener);
      if (type === 'CIFInitDone' && fired) deliver(listener, new Event(type));
    };
    g['removeEventListener'] = (type: string, listener: EventListener) => {
      registered.delete(listener);
      target.removeEventListener(type, listener);
    };
    return {
      fire() {
        fired = true;
        target.dispatchEvent(new Event('CIFInitDone'));
      },
      listeners: () => registered.size,
      restore() {
        delete g['addEventListener'];
        delete g['removeEventListener'];
      },
    };
  }

  it("never throws into the page when the page's addEventListener hands the exporter's CIFInitDone listener an event that already fired", async () => {
    // As dispatchEvent does, the page reports what a listener throws rather than let it through.
    const thrown: unknown[] = [];
    const page = stickyWindow((listener, event) => {
      try {
        listener(event);
      } catch (error) {
        thrown.push(error);
      }
    });
    try {
      installCifWithoutInitDone(new RecordingCifClient());
      page.fire();
      const { exporter, record } = widget();
      record('CallAccepted');
      await time.clock.tickAsync(0);
      expect(exporter.getStats().kpiEventsDelivered).to.equal(1);
      // The listener runs the engine's pump before createDelivery has assigned `readiness`: a ReferenceError.
      expect(thrown.map(String)).to.deep.equal([]);
    } finally {
      page.restore();
    }
  });

  it('stops listening for CIFInitDone at shutdown, and warns of no failure to listen, when the page\'s addEventListener hands the listener an event that already fired', async () => {
    // This page lets what the listener throws through its addEventListener.
    const page = stickyWindow((listener, event) => listener(event));
    try {
      installCifWithoutInitDone(new RecordingCifClient());
      page.fire();
      const { exporter, provider, record } = widget();
      record('CallAccepted');
      await time.clock.tickAsync(0);
      expect(exporter.getStats().kpiEventsDelivered).to.equal(1);
      await provider.shutdown();
      // The page's addEventListener worked; the exporter's own listener threw, and the exporter then forgot where it listens.
      expect({ warnings: lines.filter((line) => line.startsWith('warn')), listenersLeft: page.listeners() }).to.deep.equal({ warnings: [], listenersLeft: 0 });
    } finally {
      page.restore();
    }
  });

  it('holds a call made while the page library is still unconfirmed (no CIFInitDone, no answer) and missing, up to readyTimeoutMillis, and delivers it on CIFInitDone', async () => {
    const page = pageWindow();
    try {
      // A library still starting: there at the first call, which it does not answer.
      installCifWithoutInitDone(new RecordingCifClient({ answer: hangs }));
      const { exporter, record } = widget({ readyTimeoutMillis: 10_000, timeoutMillis: 30_000 });
      record('CallAccepted');
      await time.clock.tickAsync(100);
      // The page takes its unconfirmed library away (reloading it); the next call finds none.
      removePageCif();
      record('CallHold');
      await time.clock.tickAsync(1_000);
      // Well within readyTimeoutMillis, CIF has not been confirmed yet: the call must still wait.
      expect(exporter.getStats().dropped.cif_not_loaded, 'dropped at once as cif_not_loaded').to.equal(0);
      const started = new RecordingCifClient();
      installCifWithoutInitDone(started);
      page.fire('CIFInitDone');
      await time.clock.tickAsync(0);
      expect(started.calls.map((c) => c.eventName)).to.deep.equal(['CallHold']);
      expectBalanced(exporter.getStats());
    } finally {
      page.restore();
    }
  });

  it("gives a readable reason, naming logAnalyticsEvent, when the client option's logAnalyticsEvent is no longer a function", async () => {
    const client: { logAnalyticsEvent: unknown } = new RecordingCifClient();
    const { exporter, record } = widget({ client: client as CifAnalyticsClient });
    record('CallAccepted');
    await time.clock.tickAsync(0);
    expect(exporter.getStats().kpiEventsDelivered).to.equal(1);
    // The page's code swaps the method out, as a client it does not own may.
    client.logAnalyticsEvent = undefined;
    record('CallHold');
    await time.clock.runAllAsync();
    const drops = lines.filter((line) => line.startsWith('warn KPI events dropped'));
    expect(drops).to.have.length(1);
    // Not "Cannot read properties of undefined (reading 'call')", which names nothing the user wrote.
    expect(drops[0]).to.match(/logAnalyticsEvent/);
    expect(drops[0]).not.to.match(/Cannot read properties/);
  });
});
