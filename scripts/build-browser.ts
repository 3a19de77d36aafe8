// Builds the script-tag bundle: dist/browser/opentelemetry-exporter-cif.iife.min.js.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

export const SCRIPT_TAG_BUNDLE = fileURLToPath(
  new URL('../dist/browser/opentelemetry-exporter-cif.iife.min.js', import.meta.url),
);

export async function buildScriptTagBundle(): Promise<void> {
  await build({
    entryPoints: [fileURLToPath(new URL('./script-tag.ts', import.meta.url))],
    outfile: SCRIPT_TAG_BUNDLE,
    bundle: true,
    format: 'iife',
    globalName: 'OpenTelemetryCif',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildScriptTagBundle();
