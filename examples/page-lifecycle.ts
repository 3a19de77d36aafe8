// Browser-only: how a CIF widget keeps its KPI events when the agent hides or leaves the page.
// It type-checks with the project but is not run by `npm run example` (Node has no page to hide).
import { trace } from '@opentelemetry/api';
import { BatchSpanProcessor, WebTracerProvider } from '@opentelemetry/sdk-trace-web';
import { CifSpanExporter } from '../src/index.js';

const exporter = new CifSpanExporter({
  // No `client`: calls wait for the CIF library's CIFInitDone event, at most 20 s each.
  readyTimeoutMillis: 20_000,
});

// In a page, this BatchSpanProcessor calls its own forceFlush() when the document becomes hidden
// (visibilitychange), so buffered spans reach the exporter; once CIF is ready it calls
// logAnalyticsEvent before that event handler returns, for up to maxConcurrentCalls calls.
const provider = new WebTracerProvider({
  spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1_000 })],
});
provider.register();

// For pages left without visibilitychange (Safari), or with `disableAutoFlushOnDocumentHide: true`:
// flush on pagehide, which browsers fire on window, not on the document the processor listens on. Do not shut down here: a page restored from the back/forward cache keeps using
// this provider, and a shut down exporter refuses every later export.
window.addEventListener('pagehide', () => {
  provider.forceFlush().catch(() => {
    // Failures are already counted in exporter.getStats() and sent to the global error handler.
  });
});

// Shut down only when the widget is torn down for good; it resolves within `timeoutMillis`
// (15 s by default) even if the host never answers. The provider rejects, and leaves the exporter
// open, when a call of its last flush failed: the exporter is shut down after it either way.
export async function disposeWidget(): Promise<void> {
  await provider.shutdown().catch(() => {
    // Counted in exporter.getStats(), as above.
  });
  await exporter.shutdown();
  console.log('KPI events delivered:', exporter.getStats().kpiEventsDelivered);
}

const call = trace.getTracer('softphone').startSpan('inbound call', {
  attributes: { 'cif.conversation.id': 'c7a1e5d2-0b1f-4e8e-9d56-3f0e8a2b9c11', 'cif.provider_session.id': 'CA5f3c2e9b7d' },
});
call.addEvent('CallAccepted', { 'cif.kpi.notification_response_action': 'accepted' });
call.end();
