import { ROOT_CONTEXT, type ContextManager } from '@opentelemetry/api';

/** A context manager of the page whose `with` is `run`, and that is otherwise inert. */
export function contextManagerWith(run: ContextManager['with']): ContextManager {
  return {
    active: () => ROOT_CONTEXT,
    with: run,
    bind: (_context, target) => target,
    enable() {
      return this;
    },
    disable() {
      return this;
    },
  };
}
