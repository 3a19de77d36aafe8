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

/**
 * Installs a diag logger that throws on every message, as a broken page logger may. Returns how
 * to take it away again (`diag.disable()` itself logs, so the logger stops throwing first).
 */
export function installThrowingDiag(): () => void {
  let hostile = false;
  const boom = () => {
    if (hostile) throw new Error('logger bug');
  };
  diag.setLogger({ error: boom, warn: boom, info: boom, debug: boom, verbose: boom }, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
  hostile = true;
  return () => {
    hostile = false;
    diag.disable();
  };
}
