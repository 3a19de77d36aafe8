import { diag } from '@opentelemetry/api';
import { expect } from 'chai';
import { createCountEnd } from '../../src/delivery/count.js';
import type { Outbox, OutboxEntry } from '../../src/delivery/outbox.js';
import { createBatches } from '../../src/delivery/report.js';
import { createDeliveryStats, type DeliveryDropReason } from '../../src/stats.js';
import type { CifCall } from '../../src/types.js';
import { captureDiag } from '../helpers/diag.js';

const call: CifCall = { data: { events: [{}, {}] } as unknown as CifCall['data'], eventName: 'kpi', correlationId: 'c' };
const entry: OutboxEntry = { call };
/** An outbox that holds, or not, every entry: `count` asks it nothing else. */
const outbox = (holds: boolean) => ({ holds: () => holds }) as unknown as Outbox;
const error = new Error('no host');

describe('counting how a call ended', () => {
  afterEach(() => diag.disable());

  [
    { what: 'a delivered call', held: false, entry: undefined, error: undefined, reason: undefined, delivered: 2, kept: 0, failed: 0, dropped: 0, report: { calls: 1, failed: 0 } },
    { what: 'a failed call the outbox still holds', held: true, entry, error, reason: 'cif_not_loaded', delivered: 0, kept: 2, failed: 0, dropped: 0, report: { calls: 1, failed: 1 } },
    { what: 'a failed call the outbox no longer holds', held: false, entry, error, reason: 'host_error', delivered: 0, kept: 0, failed: 1, dropped: 2, report: { calls: 1, failed: 1 } },
    { what: 'a failed call never in an outbox', held: true, entry: undefined, error, reason: 'timed_out', delivered: 0, kept: 0, failed: 1, dropped: 2, report: { calls: 1, failed: 1 } },
  ].forEach((c) =>
    it(`counts ${c.what} as delivered ${c.delivered}, kept ${c.kept}, dropped ${c.dropped}`, async () => {
      const stats = createDeliveryStats();
      const count = createCountEnd(stats, outbox(c.held));
      const [batch, done] = createBatches().open(1);
      count(2, batch, c.entry, c.error, c.reason as DeliveryDropReason | undefined, 'kpi');
      const dropped = c.reason ? stats.dropped[c.reason as DeliveryDropReason] : 0;
      expect([stats.kpiEventsDelivered, stats.kpiEventsKept, stats.callsFailed, dropped]).to.deep.equal([c.delivered, c.kept, c.failed, c.dropped]);
      const { calls, failed } = await done;
      expect({ calls, failed }).to.deep.equal(c.report);
    }),
  );

  it('warns once per drop reason, with what the user can do', () => {
    const messages = captureDiag();
    const count = createCountEnd(createDeliveryStats(), undefined);
    const [batch] = createBatches().open(3);
    count(1, batch, undefined, error, 'queue_full');
    count(1, batch, undefined, error, 'queue_full');
    count(1, batch, undefined, error, 'no_timer');
    expect(messages).to.deep.equal([
      'opentelemetry-exporter-cif KPI events dropped: no host. Raise maxQueueSize, or find why the host stalls. Counted in getStats().dropped.queue_full; shown once.',
      "opentelemetry-exporter-cif KPI events dropped: no host. The page's setTimeout must work for calls to be timed. Counted in getStats().dropped.no_timer; shown once.",
    ]);
  });
});
