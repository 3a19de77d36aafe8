import { ROOT_CONTEXT, type ContextManager } from '@opentelemetry/api';

/** A context manager of the page whose `with` is `run`, whose `active()` is `active` (the root context), and that is otherwise inert. */
export function contextManagerWith(run: ContextManager['with'], active: () => unknown = () => ROOT_CONTEXT): ContextManager {
  return {
    active: active as ContextManager['active'],
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
