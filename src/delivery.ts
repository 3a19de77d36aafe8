import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { CifNotLoadedError, toError } from './errors.js';
import type { CifExporterStats } from './stats.js';
import type { CifAnalyticsClient, CifCall } from './types.js';

export interface DeliveryOptions {
  getClient: () => CifAnalyticsClient | undefined;
  dataFormat: 'object' | 'json';
}

/** Calls the host once per `CifCall`, counts the outcome, and knows what is still in flight. */
export class CifDelivery {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly options: DeliveryOptions,
    private readonly stats: CifExporterStats,
  ) {}

  /** Settles when every call has; resolves with the errors of the calls that failed. */
  deliver(calls: readonly CifCall[]): Promise<Error[]> {
    const settled = Promise.all(calls.map((call) => this.send(call).then(() => undefined, toError)));
    const done = settled.then((results) => results.filter((r): r is Error => r !== undefined));
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
    return done;
  }

  /** Resolves once everything handed to `deliver` so far has settled. */
  async flush(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  private async send(call: CifCall): Promise<string> {
    const events = call.data.events.length;
    const client = this.options.getClient();
    if (!client) {
      this.stats.dropped.cif_not_loaded += events;
      throw new CifNotLoadedError();
    }
    this.stats.callsMade++;
    this.stats.kpiEventsSent += events;
    const data = this.options.dataFormat === 'json' ? JSON.stringify(call.data) : call.data;
    try {
      // Suppressed so that instrumentation of the host's messaging never traces the exporter.
      return await context.with(suppressTracing(context.active()), () =>
        client.logAnalyticsEvent(data, call.eventName, call.correlationId),
      );
    } catch (reason) {
      this.stats.callsFailed++;
      this.stats.dropped.host_error += events;
      throw toError(reason);
    }
  }
}
