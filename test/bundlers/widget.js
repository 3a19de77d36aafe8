// A widget as a page bundles it: the page's own OpenTelemetry packages, with the exporter's main
// entry, /logs and /instrumentation. Under a CIF session, one span carries a KPI event, one log
// record is a log-based event, and the widget makes a CIF call of its own in that span, which
// CifInstrumentation gives the trace id as its correlationId. The page that loads the bundle
// defines Microsoft.CIFramework first; the trace id goes to `globalThis.widgetTraceId`.
import { diag, DiagConsoleLogger, DiagLogLevel, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { SimpleSpanProcessor, WebTracerProvider } from '@opentelemetry/sdk-trace-web';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, withCifSession } from 'opentelemetry-exporter-cif';
import { CifInstrumentation } from 'opentelemetry-exporter-cif/instrumentation';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent } from 'opentelemetry-exporter-cif/logs';

diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);
const provider = new WebTracerProvider({
  spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(new CifSpanExporter())],
});
provider.register();
logs.setGlobalLoggerProvider(
  new LoggerProvider({
    processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter: new CifLogRecordExporter() })],
  }),
);
registerInstrumentations({ instrumentations: [new CifInstrumentation()] });

withCifSession({ conversationId: 'conv-1', providerSessionId: 'call-1' }, () => {
  trace.getTracer('widget').startActiveSpan('accept call', (span) => {
    recordKpiEvent(span, 'CallAccepted', { notificationResponseAction: 'accepted' });
    emitKpiEvent(logs.getLogger('widget'), 'CallHold', { reason: 'customer asked' });
    globalThis.Microsoft.CIFramework.logAnalyticsEvent({ widget: 'own' }, 'WidgetEvent');
    globalThis.widgetTraceId = span.spanContext().traceId;
    span.end();
  });
});
