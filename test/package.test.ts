import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { build } from 'esbuild';
import { shutDownAfterTest, type Closeable } from './helpers/shut-down.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGE = 'opentelemetry-exporter-cif';

/** Bundles `source` as a user's bundler would, leaving the peer and runtime dependencies out. */
async function bundle(source: string, resolveDir: string): Promise<string> {
  const result = await build({
    stdin: { contents: source, resolveDir, loader: 'js' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    external: ['@opentelemetry/*', 'uuid'],
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

describe('the published package', () => {
  // The package as npm would install it: package.json plus the build output, in a node_modules.
  let consumer: string;
  let installed: string;

  before(async function () {
    this.timeout(60_000);
    consumer = await mkdtemp(join(tmpdir(), 'cif-package-'));
    installed = join(consumer, 'node_modules', PACKAGE);
    await mkdir(installed, { recursive: true });
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', join(installed, 'dist')], {
      cwd: ROOT,
    }).catch((error: { stdout?: string }) => {
      throw new Error(`the build failed:\n${error.stdout ?? String(error)}`);
    });
    await copyFile(join(ROOT, 'package.json'), join(installed, 'package.json'));
    for (const dependency of ['@opentelemetry', 'uuid']) {
      await symlink(join(ROOT, 'node_modules', dependency), join(consumer, 'node_modules', dependency), 'dir');
    }
  });
  after(async () => {
    if (consumer) await rm(consumer, { recursive: true, force: true });
  });

  it('maps the main entry and the testing subpath to built files, types first', async () => {
    const { exports } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, Record<string, string>>;
    };
    for (const subpath of ['.', './instrumentation', './testing']) {
      const entry = exports[subpath]!;
      expect(Object.keys(entry), subpath).to.deep.equal(['types', 'default']);
      for (const file of Object.values(entry)) expect((await stat(join(installed, file))).isFile(), file).to.equal(true);
    }
  });

  it("takes @opentelemetry/api and @opentelemetry/core as peer dependencies, and no OpenTelemetry package as its own, so the page's copies are shared", async () => {
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    expect(Object.keys(manifest['peerDependencies'] ?? {})).to.deep.equal(['@opentelemetry/api', '@opentelemetry/core']);
    expect(Object.keys(manifest['dependencies'] ?? {}).filter((name) => name.startsWith('@opentelemetry/'))).to.deep.equal([]);
  });

  it('serves the testing helpers from opentelemetry-exporter-cif/testing to a Node user', async () => {
    const file = join(consumer, 'consumer.mjs');
    await writeFile(
      file,
      `import { CifSpanExporter } from '${PACKAGE}';\n` +
        `import { RecordingCifClient, installFakeCIFramework } from '${PACKAGE}/testing';\n` +
        'const client = new RecordingCifClient();\n' +
        'export const exporter = new CifSpanExporter({ client });\n' +
        'const target = {};\n' +
        'installFakeCIFramework(target, client);\n' +
        "export const answer = await target.Microsoft.CIFramework.logAnalyticsEvent('{}', 'CallHold', 'id');\n" +
        'export const calls = client.calls;\n',
    );
    const loaded = (await import(pathToFileURL(file).href)) as { answer: string; calls: unknown[]; exporter: Closeable };
    shutDownAfterTest(loaded.exporter);
    expect(loaded.answer).to.equal('ok');
    expect(loaded.calls).to.deep.equal([{ data: '{}', eventName: 'CallHold', correlationId: 'id' }]);
  });

  it('keeps the testing helpers out of a bundle of the main entry', async () => {
    const main = await bundle(`export * from '${PACKAGE}';`, consumer);
    const testing = await bundle(`export * from '${PACKAGE}/testing';`, consumer);
    for (const name of ['CifSpanExporter', 'CifSessionSpanProcessor', 'withCifSession', 'recordKpiEvent']) {
      expect(main, name).to.include(name);
    }
    for (const name of ['RecordingCifClient', 'installFakeCIFramework', 'formatCifCall']) {
      expect(testing, name).to.include(name);
      expect(main, name).not.to.include(name);
    }
  });

  it('keeps the instrumentation out of a bundle of the main entry, and the exporter out of a bundle of the instrumentation', async () => {
    const main = await bundle(`export * from '${PACKAGE}';`, consumer);
    const instrumentation = await bundle(`export * from '${PACKAGE}/instrumentation';`, consumer);
    expect(instrumentation).to.include('CifInstrumentation');
    expect(main).not.to.include('CifInstrumentation');
    expect(instrumentation).not.to.include('CifSpanExporter');
  });
});
