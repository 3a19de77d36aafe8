import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { expect } from 'chai';
import { withCifSession } from '../src/index.js';
import { emitKpiEvent } from '../src/logs.js';
import { logPipeline, spanPipeline } from './helpers/pipelines.js';
import { IDENTITY } from './helpers/spans.js';

/** What other libraries have made of the page's `JSON.stringify`: json2-style polyfills, a page that forbids it, a broken shim. */
const replacements: Array<[string, (value: unknown) => unknown]> = [
  ['pretty-prints', (value) => ORIGINAL.call(JSON, value, null, 1)],
  ['throws', () => {
    throw new Error('JSON disabled by the page');
  }],
  ['answers undefined', () => undefined],
  ['answers a number', () => 0],
];

const ORIGINAL = JSON.stringify;

/** Runs `fn` with the page's `JSON.stringify` replaced by `replacement`, then puts it back. */
async function withPageJson<T>(replacement: (value: unknown) => unknown, fn: () => Promise<T>): Promise<T> {
  JSON.stringify = replacement as typeof JSON.stringify;
  try {
    return await fn();
  } finally {
    JSON.stringify = ORIGINAL;
  }
}

describe("a page whose JSON.stringify another library replaced", () => {
  beforeEach(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  afterEach(() => context.disable());

  /**
   * The correlationIds of conversations' records emitted outside any trace, and the records counted unreadable, with
   * the page's JSON replaced by `replacement` as they are emitted and sent (the SDK's `getLogger` itself writes JSON).
   */
  async function traceless(conversations: Array<[conversationId: string, providerSessionId: string]>, replacement?: (value: unknown) => unknown) {
    const { client, exporter, logger, flush } = logPipeline();
    const emit = async () => {
      for (const [conversationId, providerSessionId] of conversations) {
        withCifSession({ conversationId, providerSessionId }, () => context.with(trace.deleteSpan(context.active()), () => emitKpiEvent(logger, 'CallEnded')));
      }
      await flush();
    };
    await (replacement ? withPageJson(replacement, emit) : emit());
    return { ids: client.calls.map((call) => call.correlationId), invalid: exporter.getStats().dropped.invalid_log_record };
  }

  replacements.forEach(([what, replacement]) =>
    it(`gives log-based KPI events outside any trace the correlationId they get on any other page when it ${what}`, async () => {
      const conversations: Array<[string, string]> = [['conv-1', 'prov-1'], ['conv-2', 'prov-1']];
      const expected = await traceless(conversations);
      const got = await traceless(conversations, replacement);
      expect(got).to.deep.equal(expected);
      expect(got.invalid).to.equal(0);
      expect(new Set(got.ids).size).to.equal(2);
    }),
  );

  it('gives conversations whose ids differ only in where a quote splits them different correlationIds', async () => {
    const { ids } = await traceless([['a","b', 'c'], ['a', 'b","c'], ['a\\', '"b'], ['a\\"', 'b']]);
    expect(new Set(ids).size).to.equal(4);
  });

  it("with dataFormat 'json', never counts as delivered a call whose payload the page's JSON.stringify wrote as no text", async () => {
    for (const [, replacement] of replacements.slice(2)) {
      const { client, exporter, tracer, flush } = spanPipeline({ dataFormat: 'json', retry: { maxAttempts: 1 } });
      const failed = await withPageJson(replacement, async () => {
        const span = tracer.startSpan('accept call', { attributes: { ...IDENTITY, 'cif.kpi.name': 'CallAccepted' } });
        span.end();
        return flush().then(() => 'no failure', (error: unknown) => String(error));
      });
      const stats = exporter.getStats();
      expect(client.calls.filter((call) => typeof call.data !== 'string')).to.deep.equal([]);
      expect([stats.kpiEventsDelivered, stats.dropped.host_error]).to.deep.equal([0, 1]);
      expect(failed).to.include("JSON.stringify wrote no text");
    }
  });
});
