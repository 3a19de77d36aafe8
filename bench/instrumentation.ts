/**
 * What `CifInstrumentation` costs a page: the time and the bytes a wrapped CIF call adds to the
 * same call unwrapped, and the min+gzip size of `opentelemetry-exporter-cif/instrumentation`.
 * Run by `npm run bench` (never by `npm test`: timings depend on the machine and its load).
 */
import { context, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { StackContextManager } from '@opentelemetry/sdk-trace-web';
import { build } from 'esbuild';
import { Session, type HeapProfiler } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { CifInstrumentation } from '../src/instrumentation.js';
import { alternate, median as medianOf, type Rounds } from './harness.js';
import type { Section } from './report.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Calls per measured batch: the bytes per call are the mean over them. */
const CALLS = 20_000;

type Library = { setPresence(presenceText: string): Promise<boolean> };

/** A CIFramework whose setPresence answers at once, as `target.Microsoft.CIFramework`. */
function host(): { target: { Microsoft: { CIFramework: Library } }; library: Library } {
  const library: Library = { setPresence: () => Promise.resolve(true) };
  return { target: { Microsoft: { CIFramework: library } }, library };
}

/** `calls` calls of `call`, each awaited as a widget does. */
async function callMany(call: () => Promise<unknown>, calls: number): Promise<void> {
  for (let i = 0; i < calls; i++) await call();
}

/** Bytes allocated while `run` runs, garbage already collected included (V8's sampling heap profiler). */
async function bytesAllocated(run: () => Promise<void>): Promise<number> {
  await run(); // warm-up
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    await run();
    const { profile } = await session.post('HeapProfiler.stopSampling');
    return totalSize(profile.head);
  } finally {
    session.disconnect();
  }
}

function totalSize(node: HeapProfiler.SamplingHeapProfileNode): number {
  return node.children.reduce((sum, child) => sum + totalSize(child), node.selfSize);
}

/** esbuild, minified, ESM, browser, with the API and core external as the page shares them. */
async function subpathSize(): Promise<{ minifiedBytes: number; gzipBytes: number }> {
  const result = await build({
    stdin: { contents: "export * from './dist/instrumentation.js';", resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    external: ['@opentelemetry/api', '@opentelemetry/core'],
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.contents;
  return { minifiedBytes: code.length, gzipBytes: gzipSync(code).length };
}

export async function measureInstrumentation(rounds: Rounds): Promise<Section> {
  context.setGlobalContextManager(new StackContextManager().enable());
  const provider = new BasicTracerProvider(); // records every span, exports none: the wrapper's own cost
  const parent = trace.setSpan(context.active(), provider.getTracer('bench').startSpan('call'));
  const suppressed = suppressTracing(parent);
  const bare = host();
  const wrapped = host();
  const instrumentation = new CifInstrumentation({ target: wrapped.target });
  instrumentation.setTracerProvider(provider);
  const tracer = provider.getTracer('widget');
  /** Each call made in its context, which StackContextManager keeps for the synchronous part only. */
  const contenders = [
    { name: 'unwrapped setPresence', call: () => context.with(parent, () => bare.library.setPresence('Busy')) },
    {
      // The anchor: what a span of the widget's own costs, started and ended by hand around the call.
      name: 'unwrapped setPresence, in a span started by hand',
      call: () => {
        const span = tracer.startSpan('Microsoft.CIFramework/setPresence', undefined, parent);
        return context.with(trace.setSpan(parent, span), () => bare.library.setPresence('Busy')).finally(() => span.end());
      },
    },
    { name: 'wrapped setPresence', call: () => context.with(parent, () => wrapped.library.setPresence('Busy')) },
    { name: "wrapped setPresence, tracing suppressed (the exporter's calls)", call: () => context.with(suppressed, () => wrapped.library.setPresence('Busy')) },
  ];

  const medians = await alternate(
    contenders.map((c) => ({ name: c.name, fn: async () => void (await c.call()) })),
    rounds,
    false,
  );
  const median = (name: string) => medianOf(medians.get(name)!) * 1000; // µs
  const bytes: number[] = [];
  for (const c of contenders) bytes.push((await bytesAllocated(() => callMany(c.call, CALLS))) / CALLS);
  instrumentation.disable();
  await provider.shutdown();
  context.disable();

  const size = await subpathSize();
  const [bareTime, ...times] = contenders.map((c) => median(c.name));
  const [bareBytes, ...moreBytes] = bytes;
  const section = {
    id: 'instrumentation',
    title: 'CifInstrumentation: what a wrapped CIF call adds, and the size of the subpath',
    claim:
      'The same setPresence call, answered at once and awaited, unwrapped and through the instrumentation, under a recording parent span, with no span processor; "added" is over the unwrapped call.',
    header: ['call', 'median time per call', 'added', 'bytes allocated per call', 'added'],
    rows: contenders.map((c, i) => [
      c.name,
      `${median(c.name).toFixed(2)} µs`,
      i === 0 ? '' : `${(times[i - 1]! - bareTime!).toFixed(2)} µs`,
      `${bytes[i]!.toFixed(0)} B`,
      i === 0 ? '' : `${(moreBytes[i - 1]! - bareBytes!).toFixed(0)} B`,
    ]),
    notes: [
      `Time: one awaited call per sample. Bytes: V8's sampling heap profiler over ${CALLS} calls, garbage already collected included.`,
      `\`opentelemetry-exporter-cif/instrumentation\` from \`dist/\`, esbuild, minified, ESM, browser, \`@opentelemetry/api\` and \`@opentelemetry/core\` external: ${size.minifiedBytes} B minified, ${size.gzipBytes} B min+gzip.`,
    ],
    values: { contenders: contenders.map((c, i) => ({ name: c.name, medianMicros: median(c.name), bytesPerCall: bytes[i] })), subpath: size },
  };
  return section;
}
