import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';

/** Collects what the library logs through `diag` at `logLevel` (warn by default) and above, until `diag.disable()`. */
export function captureDiag(logLevel: DiagLogLevel.WARN | DiagLogLevel.DEBUG = DiagLogLevel.WARN): string[] {
  const messages: string[] = [];
  const keep = (...args: unknown[]) => {
    messages.push(args.map(String).join(' '));
  };
  const logger: DiagLogger = { error: keep, warn: keep, info: () => {}, debug: keep, verbose: () => {} };
  diag.setLogger(logger, { logLevel, suppressOverrideMessage: true });
  return messages;
}

/** Collects what the library logs through `diag`, at every level, each line as `<level> <message> <error>`, until `diag.disable()`. */
export function captureLevels(): string[] {
  const lines: string[] = [];
  const keep = (level: string) => (component: unknown, ...args: unknown[]) => {
    if (component === 'opentelemetry-exporter-cif') lines.push(`${level} ${args.map(String).join(' ')}`);
  };
  diag.setLogger({ error: keep('error'), warn: keep('warn'), info: keep('info'), debug: keep('debug'), verbose: keep('verbose') }, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
  return lines;
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

/**
 * Installs a diag logger at every level that hands each line, its arguments joined, to `onLine`, as
 * a page's logger that acts on what it is told may (reads the stats, exports again). Returns how
 * to take it away again.
 */
export function installActingDiag(onLine: (level: 'error' | 'warn' | 'info' | 'debug' | 'verbose', line: string) => void): () => void {
  let acting = false;
  const to = (level: Parameters<typeof onLine>[0]) => (...args: unknown[]) => {
    if (acting) onLine(level, args.map(String).join(' '));
  };
  diag.setLogger({ error: to('error'), warn: to('warn'), info: to('info'), debug: to('debug'), verbose: to('verbose') }, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
  acting = true;
  return () => {
    acting = false;
    diag.disable();
  };
}
