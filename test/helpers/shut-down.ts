import { sharedDelivery } from '../../src/delivery/cif-delivery.js';
import type { CifDelivery } from '../../src/index.js';

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

/**
 * Returns `delivery`, whose engine is shut down after the test: a `CifDelivery` shuts down with the
 * last exporter given it, so one given to no exporter, or to one never shut down, stays open.
 */
export function shutDownDeliveryAfterTest(delivery: CifDelivery): CifDelivery {
  shutDownAfterTest(sharedDelivery(delivery, 'shutDownDeliveryAfterTest').engine);
  return delivery;
}

/** Shuts down, all at once, everything given to `shutDownAfterTest` since the last call. */
export async function shutDownAll(): Promise<void> {
  const closeables = [...open];
  open.clear();
  await Promise.all(closeables.map((closeable) => closeable.shutdown()));
}
