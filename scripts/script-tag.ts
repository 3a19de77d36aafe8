// Entry of the script-tag bundle (global `OpenTelemetryCif`). OpenTelemetry JS publishes no
// script-tag bundles of its own, so this one carries what a widget page without a bundler needs:
// everything the package exports, plus the OpenTelemetry API and web SDK pieces to use it.
export * from '../src/index.js';
export { context, diag, DiagConsoleLogger, DiagLogLevel, trace } from '@opentelemetry/api';
export { resourceFromAttributes } from '@opentelemetry/resources';
export {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  StackContextManager,
  WebTracerProvider,
} from '@opentelemetry/sdk-trace-web';
