import { build, transform, version as esbuildVersion, type Metafile } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import ts from 'typescript';
import { MAIN_ENTRY_GZIP_GATE, TARGETS } from './budgets.js';
import { thousands, type Section, type Target } from './report.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * What a page that traces already loads, and so shares with any exporter. An exporter's own
 * packages (otlp-exporter-base, otlp-transformer) are bundled, since they come with it. The
 * main entry imports only the first two (checked below).
 */
const SHARED_OPENTELEMETRY = [
  '@opentelemetry/api',
  '@opentelemetry/core',
  '@opentelemetry/resources',
  '@opentelemetry/sdk-trace',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/sdk-trace-web',
  '@opentelemetry/semantic-conventions',
];
const MAIN_ENTRY_EXTERNALS = SHARED_OPENTELEMETRY.slice(0, 2);
/** The JavaScript every entry is bundled for. */
const TARGET = 'es2020';

const CIF = 'opentelemetry-exporter-cif';
/** The main entry as published: `npm run build` writes it, and `check:size` and `bench` run that first. */
const MAIN_ENTRY = 'dist/index.js';
const ENTRIES = [
  { name: `${CIF} (main entry)`, source: `export * from './${MAIN_ENTRY}';` },
  { name: '@opentelemetry/exporter-trace-otlp-http', source: "export * from '@opentelemetry/exporter-trace-otlp-http';" },
  { name: '@opentelemetry/exporter-zipkin', source: "export * from '@opentelemetry/exporter-zipkin';" },
];

interface Bundle {
  name: string;
  version: string;
  minifiedBytes: number;
  gzipBytes: number;
  output: Metafile['outputs'][string];
  /** The bundle's min+gzip size with the text of every string and template literal emptied: its code alone. */
  codeGzipBytes: number;
}

/** An entry bundled for the browser as an app's build would, minified, then gzipped at zlib's default level. */
async function bundle(name: string, source: string): Promise<Bundle> {
  const result = await build({
    stdin: { contents: source, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: TARGET,
    external: SHARED_OPENTELEMETRY,
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.contents;
  const output = Object.values(result.metafile.outputs)[0]!;
  const codeAlone = withoutStrings(result.outputFiles[0]!.text);
  // Parsed again by esbuild, which throws if emptying the literals broke the code.
  await transform(codeAlone, { loader: 'js' });
  return { name, version: versionOf(name), minifiedBytes: code.length, gzipBytes: gzipSync(code).length, output, codeGzipBytes: gzipSync(codeAlone).length };
}

/**
 * `code` with the text of every string and template literal emptied (its quotes kept), parsed as
 * JavaScript: what the code weighs without its messages, keys and names.
 */
function withoutStrings(code: string): string {
  const file = ts.createSourceFile('bundle.js', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const cuts: Array<[start: number, end: number]> = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateLiteralToken(node)) {
      // Quotes, backticks, `${` and `}` stay, so the code still parses.
      cuts.push([node.getStart(file) + 1, node.getEnd() - (ts.isTemplateHead(node) || ts.isTemplateMiddle(node) ? 2 : 1)]);
    }
    node.forEachChild(visit);
  };
  visit(file);
  let out = '';
  let at = 0;
  for (const [start, end] of cuts) {
    out += code.slice(at, start);
    at = end;
  }
  return out + code.slice(at);
}

function versionOf(name: string): string {
  const path = name.startsWith(CIF) ? `${ROOT}package.json` : createRequire(`${ROOT}package.json`).resolve(`${name}/package.json`);
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

/** Minified bytes per module of the main entry, a package's files counted together. */
function modules(output: Bundle['output']): Array<[string, number]> {
  const bytes = new Map<string, number>();
  for (const [path, input] of Object.entries(output.inputs)) {
    const module = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? path.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');
    bytes.set(module, (bytes.get(module) ?? 0) + input.bytesInOutput);
  }
  return [...bytes].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
}

export interface BundleMeasure {
  sections: Section[];
  mainEntryGzipBytes: number;
  targets: Target[];
}

/** The main entry beside the OTLP HTTP and Zipkin exporters, and where its bytes go. */
export async function measureBundles(): Promise<BundleMeasure> {
  if (!existsSync(`${ROOT}${MAIN_ENTRY}`)) throw new Error(`${MAIN_ENTRY} is missing: run \`npm run build\` first`);
  const bundles: Bundle[] = [];
  for (const entry of ENTRIES) bundles.push(await bundle(entry.name, entry.source));
  const cif = bundles[0]!;
  const imported = cif.output.imports.filter((i) => i.external).map((i) => i.path);
  const stray = imported.filter((path) => !MAIN_ENTRY_EXTERNALS.includes(path));
  if (stray.length > 0) throw new Error(`the main entry imports ${stray.join(', ')}: bundle it, or count it as shared`);
  const moduleBytes = modules(cif.output);
  const bundled = moduleBytes.map(([module]) => module).filter((module) => !module.startsWith('src/'));
  // The entry's export statement, which esbuild writes, is in no module's bytesInOutput.
  const unattributed = cif.minifiedBytes - moduleBytes.reduce((sum, [, bytes]) => sum + bytes, 0);
  return {
    mainEntryGzipBytes: cif.gzipBytes,
    sections: [
      {
        id: 'bundle',
        title: 'Bundle size',
        claim: `Each entry bundled whole (\`export *\`) by esbuild ${esbuildVersion} for the browser (target ${TARGET}), minified, ESM, then gzipped at zlib's default level, every entry with the same settings and the packages a tracing page already loads external (${SHARED_OPENTELEMETRY.map((p) => `\`${p}\``).join(', ')}); the main entry, from \`${MAIN_ENTRY}\`, imports \`${MAIN_ENTRY_EXTERNALS.join('` and `')}\` of them and bundles ${bundled.length === 0 ? 'no other package' : bundled.map((p) => `\`${p}\``).join(', ')}.`,
        header: ['package', 'version', 'minified', 'min+gzip', 'min+gzip, every string literal emptied'],
        rows: bundles.map((b) => [b.name, b.version, `${thousands(b.minifiedBytes)} B`, `${thousands(b.gzipBytes)} B`, `${thousands(b.codeGzipBytes)} B`]),
        notes: [
          'The last column is the code alone: the same bundle with the text of every string and template literal (messages, keys, names) emptied, then gzipped.',
        ],
        values: { entries: bundles.map(({ output: _, ...b }) => b) },
      },
      {
        id: 'bundleModules',
        title: 'Where the main entry\'s bytes go',
        claim: "The main entry's minified bytes by module, from esbuild's metafile (gzip compresses across modules, so only the whole has a gzip size).",
        header: ['module', 'minified', 'share'],
        rows: [...moduleBytes, ["the export statement (esbuild's, in no module)", unattributed] as const].map(([module, bytes]) => [
          module,
          `${thousands(bytes)} B`,
          `${((bytes / cif.minifiedBytes) * 100).toFixed(1)}%`,
        ]),
        values: { ...Object.fromEntries(moduleBytes), unattributed },
      },
    ],
    targets: [
      {
        name: 'main entry size',
        rule: `at most ${thousands(TARGETS.mainEntryGzipBytes)} B min+gzip`,
        measured: `${thousands(cif.gzipBytes)} B`,
        met: cif.gzipBytes <= TARGETS.mainEntryGzipBytes,
      },
      {
        name: 'size gate of npm test (a ratchet)',
        rule: `at most ${thousands(MAIN_ENTRY_GZIP_GATE)} B min+gzip`,
        measured: `${thousands(cif.gzipBytes)} B`,
        met: cif.gzipBytes <= MAIN_ENTRY_GZIP_GATE,
      },
    ],
  };
}
