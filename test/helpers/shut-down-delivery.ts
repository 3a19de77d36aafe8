import type { CifDelivery } from '../../src/index.js';
import { deliveries } from '../../src/options.js';
import { shutDownAfterTest } from './shut-down.js';

/**
 * Returns `delivery`, whose engine is shut down after the test: a `CifDelivery` shuts down with the
 * last exporter given it, so one given to no exporter, or to one never shut down, stays open.
 */
export function shutDownDeliveryAfterTest(delivery: CifDelivery): CifDelivery {
  shutDownAfterTest(deliveries.get(delivery)!.engine);
  return delivery;
}
