// Builds the script-tag bundles in dist/browser/: the package with the OpenTelemetry pieces a
// page needs (global `OpenTelemetryCif`), and the stand-in CIF host (global `OpenTelemetryCifTesting`).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const at = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export const SCRIPT_TAG_BUNDLES = {
  main: { entry: at('./script-tag.ts'), globalName: 'OpenTelemetryCif', file: at('../dist/browser/opentelemetry-exporter-cif.iife.min.js') },
  testing: {
    entry: at('../src/testing/index.ts'),
    globalName: 'OpenTelemetryCifTesting',
    file: at('../dist/browser/opentelemetry-exporter-cif-testing.iife.min.js'),
  },
} as const;

export async function buildScriptTagBundles(): Promise<void> {
  for (const { entry, globalName, file } of Object.values(SCRIPT_TAG_BUNDLES)) {
    await build({
      entryPoints: [entry],
      outfile: file,
      bundle: true,
      format: 'iife',
      globalName,
      platform: 'browser',
      target: 'es2020',
      minify: true,
      legalComments: 'none',
      logLevel: 'warning',
    });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildScriptTagBundles();
