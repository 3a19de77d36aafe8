import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { BUDGETS } from './budgets.js';
import { kb, thousands, type Section } from './report.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * What a page that traces already loads, and so shares with any exporter: the API, core,
 * resources, the trace SDK and the semantic conventions. An exporter's own packages (such as
 * otlp-exporter-base and otlp-transformer) are bundled, since they come with that exporter.
 */
export const SHARED_OPENTELEMETRY = [
  '@opentelemetry/api',
  '@opentelemetry/core',
  '@opentelemetry/resources',
  '@opentelemetry/sdk-trace',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/sdk-trace-web',
  '@opentelemetry/semantic-conventions',
];

const CIF = 'opentelemetry-exporter-cif';
const OTLP = '@opentelemetry/exporter-trace-otlp-http';
const ZIPKIN = '@opentelemetry/exporter-zipkin';

/** The main entry as published: `npm run build` writes it, and `check:size` and `bench` run that first. */
const MAIN_ENTRY = 'dist/index.js';

const ENTRIES = [
  { name: `${CIF} (main entry)`, source: `export * from './${MAIN_ENTRY}';` },
  { name: OTLP, source: `export * from '${OTLP}';` },
  { name: ZIPKIN, source: `export * from '${ZIPKIN}';` },
];

interface BundleSize {
  name: string;
  version: string;
  minifiedBytes: number;
  gzipBytes: number;
}

/** Each entry bundled for the browser the way an app's build would, minified, then gzipped. */
async function bundleSize(name: string, source: string): Promise<BundleSize> {
  const result = await build({
    stdin: { contents: source, resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    external: SHARED_OPENTELEMETRY,
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.contents;
  return { name, version: versionOf(name), minifiedBytes: code.length, gzipBytes: gzipSync(code).length };
}

function versionOf(name: string): string {
  const packageName = name.startsWith(CIF) ? CIF : name;
  const path = packageName === CIF ? `${ROOT}package.json` : createRequire(`${ROOT}package.json`).resolve(`${packageName}/package.json`);
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

export async function measureBundles(): Promise<Section> {
  if (!existsSync(`${ROOT}${MAIN_ENTRY}`)) throw new Error(`${MAIN_ENTRY} is missing: run \`npm run build\` first`);
  const sizes: BundleSize[] = [];
  for (const entry of ENTRIES) sizes.push(await bundleSize(entry.name, entry.source));
  const [cif, otlp] = sizes as [BundleSize, BundleSize, BundleSize];
  return {
    id: 'bundle',
    title: 'Bundle size: esbuild, minified, ESM, browser; shared OpenTelemetry packages external',
    header: ['package', 'version', 'minified', 'min+gzip'],
    rows: sizes.map((s) => [s.name, s.version, `${thousands(s.minifiedBytes)} B`, `${thousands(s.gzipBytes)} B (${kb(s.gzipBytes)})`]),
    notes: [`The main entry is bundled from \`${MAIN_ENTRY}\`, as published. External: ${SHARED_OPENTELEMETRY.map((p) => `\`${p}\``).join(', ')}. gzip at zlib's default level.`],
    values: { external: SHARED_OPENTELEMETRY, entries: sizes },
    budgets: [
      {
        name: 'main entry size',
        rule: `at most ${thousands(BUDGETS.mainEntryGzipBytes)} B min+gzip`,
        measured: `${thousands(cif.gzipBytes)} B (${(cif.gzipBytes / otlp.gzipBytes).toFixed(2)}x the OTLP HTTP exporter)`,
        holds: cif.gzipBytes <= BUDGETS.mainEntryGzipBytes,
        hint: 'the main entry grew; see what esbuild bundles with `metafile: true`, and keep messages users need whole',
      },
      {
        // A target, not enforced: the behaviour the main entry must keep does not fit in it (bench/README.md, "Bundle").
        name: 'main entry size target',
        rule: `at most ${thousands(BUDGETS.mainEntryTargetGzipBytes)} B min+gzip (target)`,
        measured: `${thousands(cif.gzipBytes)} B`,
        holds: cif.gzipBytes <= BUDGETS.mainEntryTargetGzipBytes,
        enforced: false,
        hint: 'see bench/README.md, "Bundle"',
      },
    ],
  };
}
