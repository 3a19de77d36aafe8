// What docs/browser.md promises of bundlers. Each one it names bundles widget.js in production mode
// from this project's node_modules (the packed package installed beside the page's OpenTelemetry
// packages); the bundle holds one copy of each OpenTelemetry package, the page's; and it runs: in
// Chromium, the page's stand-in CIF host gets the widget's calls. Parcel 2 needs the
// `@parcel/resolver-default` key of this project's package.json, and fails without it.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Parcel } from '@parcel/core';
import * as esbuild from 'esbuild';
import * as vite from 'vite';
import webpack from 'webpack';
import { launchChromium } from '../browser/chromium.ts';

const here = dirname(fileURLToPath(import.meta.url));
const entry = join(here, 'widget.js');
const modules = join(here, 'node_modules');

/**
 * Each bundler the docs name, building `entry` into `outDir` in production mode. Each returns
 * the entry's output file (relative to `outDir`), whether it is a module script, and the absolute
 * paths of the modules in it, from the bundler's own account (metafile, stats, output chunk,
 * bundle graph) rather than from the minified text.
 */
const BUNDLERS = {
  async esbuild(outDir) {
    const { metafile } = await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: here,
      outdir: outDir,
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      define: { 'process.env.NODE_ENV': '"production"' },
      metafile: true,
      logLevel: 'warning',
    });
    const [[file, output]] = Object.entries(metafile.outputs).filter(([, o]) => o.entryPoint !== undefined);
    return { script: relative(outDir, resolve(here, file)), module: true, inputs: Object.keys(output.inputs).map((i) => resolve(here, i)) };
  },

  async webpack(outDir) {
    const compiler = webpack({ mode: 'production', context: here, entry: './widget.js', output: { path: outDir, filename: 'widget.js' } });
    const stats = await new Promise((done, fail) => compiler.run((error, result) => (error ? fail(error) : done(result))));
    await new Promise((done, fail) => compiler.close((error) => (error ? fail(error) : done())));
    const json = stats.toJson({
      all: false,
      errors: true,
      warnings: true,
      chunks: true,
      chunkModules: true,
      nestedModules: true,
      dependentModules: true,
      chunkModulesSpace: Infinity,
      nestedModulesSpace: Infinity,
    });
    assert.deepEqual([...json.errors, ...json.warnings].map((e) => e.message), []);
    // Production mode concatenates modules: the files are the modules nested in each chunk's.
    const files = (list) => list.flatMap((m) => (m.modules ? files(m.modules) : m.nameForCondition ? [m.nameForCondition] : []));
    return { script: 'widget.js', module: false, inputs: json.chunks.flatMap((chunk) => files(chunk.modules)) };
  },

  async vite(outDir) {
    const result = await vite.build({
      root: here,
      configFile: false,
      mode: 'production',
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true, rolldownOptions: { input: entry } },
    });
    const chunk = [result].flat()[0].output.find((o) => o.type === 'chunk' && o.isEntry);
    return { script: chunk.fileName, module: true, inputs: chunk.moduleIds };
  },

  async parcel(outDir) {
    const bundle = await parcel(entry, outDir);
    const inputs = [];
    bundle.traverseAssets((asset) => inputs.push(asset.filePath));
    return { script: relative(outDir, bundle.filePath), module: false, inputs };
  },
};

/** Parcel's production build of `file`, with its default target and this project's package.json; the one bundle. */
async function parcel(file, outDir) {
  const { bundleGraph } = await new Parcel({
    entries: file,
    defaultConfig: '@parcel/config-default',
    mode: 'production',
    cacheDir: join(outDir, '.parcel-cache'),
    shouldDisableCache: true,
    logLevel: 'warn',
    defaultTargetOptions: { distDir: outDir, sourceMaps: false },
  }).run();
  const bundles = bundleGraph.getBundles();
  assert.equal(bundles.length, 1);
  return bundles[0];
}

/**
 * The packages among `inputs`, each with its copies: the package's folder, and the build in it
 * where it ships several. OpenTelemetry JS packages ship build/src (CommonJS), build/esm and
 * build/esnext; modules from two of them are two copies, each with its own state.
 */
function packageCopies(inputs) {
  const copies = new Map();
  const marker = `${sep}node_modules${sep}`;
  for (const input of inputs) {
    const path = input.replace(/^\0/, '').split('?')[0];
    const at = path.lastIndexOf(marker);
    if (at === -1) continue;
    const [first, second, ...rest] = path.slice(at + marker.length).split(sep);
    const [pkg, inside] = first.startsWith('@') ? [`${first}/${second}`, rest] : [first, [second, ...rest]];
    const build = inside[0] === 'build' ? `${sep}build${sep}${inside[1]}` : '';
    if (!copies.has(pkg)) copies.set(pkg, new Set());
    copies.get(pkg).add(`${path.slice(0, at)}${marker}${pkg}${build}`);
  }
  return copies;
}

/** The page: a stand-in CIF host that records every logAnalyticsEvent call, then the bundle. */
function page(script, module) {
  return `<!doctype html><meta charset="utf-8"><script>
  window.hostCalls = [];
  window.Microsoft = { CIFramework: { logAnalyticsEvent: async (data, eventName, correlationId) => {
    window.hostCalls.push({ data, eventName, correlationId });
    return 'ok';
  } } };
</script><script ${module ? 'type="module" ' : ''}src="/${script}"></script>`;
}

/** The trace id as CIF's correlationId, a GUID: 8-4-4-4-12 hex digits. */
const guid = (traceId) => traceId.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
/** A KPI event's eventTimestamp: ISO 8601 in UTC, to the millisecond. */
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

for (const [name, bundle] of Object.entries(BUNDLERS)) {
  describe(name, () => {
    const outDir = mkdtempSync(join(tmpdir(), `cif-bundle-${name}-`));
    let built;
    after(() => rmSync(outDir, { recursive: true, force: true }));

    it('bundles the widget in production mode', async () => {
      built = await bundle(outDir);
      assert.ok(built.inputs.some((i) => i.startsWith(join(modules, 'opentelemetry-exporter-cif', 'dist'))), 'the package is in the bundle');
    });

    it("holds one copy of each OpenTelemetry package, the page's", () => {
      const copies = packageCopies(built.inputs);
      assert.ok(copies.has('@opentelemetry/api'), `@opentelemetry/api is in the bundle; packages: ${[...copies.keys()].join(', ')}`);
      for (const [pkg, found] of copies) {
        if (!pkg.startsWith('@opentelemetry/') && pkg !== 'opentelemetry-exporter-cif') continue;
        assert.equal(found.size, 1, `one copy of ${pkg}, found ${[...found].join(', ')}`);
        // Not a copy of this repository's or of one nested in another package.
        assert.ok([...found][0].startsWith(join(modules, pkg)), `${pkg} from ${join(modules, pkg)}, found ${[...found][0]}`);
      }
    });

    it("runs: the host gets the widget's KPI events and its own call, with the trace id", async () => {
      const { page: tab, errors } = await browser.newPage();
      // The widget's diag logger prints the exporters' warnings; a widget that works has none.
      tab.on('console', (message) => message.type() === 'warning' && errors.push(`console.warn: ${message.text()}`));
      await tab.route('http://widget.test/**', (route) => {
        const path = new URL(route.request().url()).pathname;
        if (path === '/') return route.fulfill({ contentType: 'text/html', body: page(built.script, built.module) });
        const file = join(outDir, path);
        return existsSync(file) ? route.fulfill({ contentType: 'text/javascript', body: readFileSync(file) }) : route.fulfill({ status: 404 });
      });
      await tab.goto('http://widget.test/');
      await tab.waitForFunction(() => globalThis.hostCalls.length >= 3);
      const { traceId, calls } = await tab.evaluate(() => ({ traceId: globalThis.widgetTraceId, calls: globalThis.hostCalls }));
      await tab.close();

      assert.match(traceId, /^[0-9a-f]{32}$/);
      const identity = { conversationId: 'conv-1', providerSessionId: 'call-1' };
      // Each eventTimestamp read as whether it is one.
      const stamped = (call) =>
        call.data.events ? { ...call, data: { ...call.data, events: call.data.events.map((e) => ({ ...e, eventTimestamp: ISO.test(e.eventTimestamp) })) } } : call;
      assert.deepEqual(calls.map(stamped).sort((a, b) => a.eventName.localeCompare(b.eventName)), [
        {
          eventName: 'CallAccepted',
          correlationId: guid(traceId),
          data: { ...identity, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: true, notificationResponseAction: 'accepted' }] },
        },
        {
          eventName: 'CallHold',
          correlationId: guid(traceId),
          data: { ...identity, events: [{ kpiEventName: 'CallHold', eventTimestamp: true, kpiEventReason: 'customer asked' }] },
        },
        { eventName: 'WidgetEvent', correlationId: guid(traceId), data: { widget: 'own' } },
      ]);
      assert.deepEqual(errors, []);
    });
  });
}

describe('parcel without package exports', () => {
  it('cannot resolve uuid, which the main entry imports', async () => {
    // A widget project whose package.json lacks the `@parcel/resolver-default` key, on this
    // project's node_modules; its lockfile makes it Parcel's project root.
    const project = mkdtempSync(join(tmpdir(), 'cif-parcel-'));
    try {
      writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'widget', private: true, type: 'module' }));
      writeFileSync(join(project, 'package-lock.json'), JSON.stringify({ name: 'widget', lockfileVersion: 3, packages: {} }));
      writeFileSync(join(project, 'widget.js'), "export { CifSpanExporter } from 'opentelemetry-exporter-cif';\n");
      symlinkSync(modules, join(project, 'node_modules'), 'dir');
      await assert.rejects(parcel(join(project, 'widget.js'), join(project, 'dist')), (error) => {
        assert.match(error.diagnostics?.map((d) => d.message).join('\n') ?? String(error), /Failed to resolve 'uuid'/);
        return true;
      });
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
