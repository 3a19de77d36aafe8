// Nothing of src/ is imported here: the root hooks load this file before the test files, and a
// module of src/ loaded then would miss a mutant a mutation run switches on at load (CONTRIBUTING.md).

/** An exporter, a tracer or logger provider, a delivery engine: whatever a test must shut down. */
export interface Closeable {
  shutdown(): Promise<void>;
}

const open = new Set<Closeable>();

/**
 * Returns `closeable`, shut down after the test that made it (by the root hook in
 * test/helpers/root-hooks.ts), whether the test passed, failed, or shut it down itself.
 */
export function shutDownAfterTest<T extends Closeable>(closeable: T): T {
  open.add(closeable);
  return closeable;
}

/** Shuts down, all at once, everything given to `shutDownAfterTest` since the last call. */
export async function shutDownAll(): Promise<void> {
  const closeables = [...open];
  open.clear();
  await Promise.all(closeables.map((closeable) => closeable.shutdown()));
}
