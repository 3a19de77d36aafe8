import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';

/** Collects what the library logs through `diag` at warn level and above, until `diag.disable()`. */
export function captureDiag(): string[] {
  const messages: string[] = [];
  const keep = (...args: unknown[]) => {
    messages.push(args.map(String).join(' '));
  };
  const logger: DiagLogger = { error: keep, warn: keep, info: () => {}, debug: () => {}, verbose: () => {} };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  return messages;
}
