// Builds the demo widget (examples/widget) and serves it on localhost: `npm run demo`.
import { context } from 'esbuild';
import { fileURLToPath } from 'node:url';

const WIDGET_DIR = fileURLToPath(new URL('../examples/widget/', import.meta.url));

export interface DemoServer {
  url: string;
  stop(): Promise<void>;
}

/** Serves the demo on 127.0.0.1; port 0 picks a free one. Bundles are built on request. */
export async function startDemo(port = 0): Promise<DemoServer> {
  const ctx = await context({
    entryPoints: [`${WIDGET_DIR}widget.ts`, `${WIDGET_DIR}host.ts`],
    outdir: WIDGET_DIR,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    sourcemap: true,
    write: false,
    logLevel: 'warning',
  });
  const server = await ctx.serve({ servedir: WIDGET_DIR, host: '127.0.0.1', port });
  return { url: `http://127.0.0.1:${server.port}/`, stop: () => ctx.dispose() };
}

/** Whether `error` says the port is taken (esbuild reports Go's `bind: address already in use`). */
function isPortInUse(error: unknown): boolean {
  const text = `${(error as { code?: unknown })?.code ?? ''} ${(error as Error)?.message ?? String(error)}`;
  return /EADDRINUSE|address already in use/i.test(text);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const requested = Number(process.env['PORT'] ?? 8080);
  try {
    const demo = await startDemo(requested);
    console.log(`CIF softphone demo: ${demo.url}`);
    console.log('Click "Simulate incoming call", then Accept, Hold, Transfer and End. Ctrl+C stops the server.');
  } catch (error) {
    if (!isPortInUse(error)) throw error;
    console.error(`Port ${requested} is already in use. Pick another one: PORT=${requested + 1} npm run demo`);
    process.exit(1);
  }
}
