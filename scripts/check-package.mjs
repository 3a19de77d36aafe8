// Checks the package as it would be published: what the tarball holds, publint and
// "Are the types wrong?", and that every `exports` entry resolves for Node ESM, a bundler,
// and TypeScript with moduleResolution bundler, node16 and node10.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { exportedEntries, isMain, manifest, root, run, typecheck, withPackedPackage } from './pack.mjs';

const ALWAYS_SHIPPED = ['CHANGELOG.md', 'LICENSE', 'README.md', 'package.json'];
const SHIPPED_FROM_DIST = /^dist\/[\w./-]+\.(?:js|js\.map|d\.ts)$/;
const SHIPPED_DOCS = /^docs\/[\w-]+\.md$/;

/** Throws listing every problem found in the packed package. */
export async function checkPackage({ tarball, files }) {
  const failures = [];
  const check = (ok, message) => ok || failures.push(message);
  const entries = exportedEntries();
  const code = entries.filter((e) => !e.isJson);
  // Unpacked inside the repository so that the peer dependencies resolve from its node_modules.
  const consumer = join(root, '.package-check');
  const installed = join(consumer, 'node_modules', manifest.name);

  try {
    console.log('\n# tarball contents');
    for (const file of files) {
      const expected = ALWAYS_SHIPPED.includes(file) || SHIPPED_FROM_DIST.test(file) || SHIPPED_DOCS.test(file);
      check(expected, `the tarball should not contain ${file}`);
    }
    for (const problem of docLinkProblems(files)) check(false, problem);
    for (const file of [...ALWAYS_SHIPPED, ...entries.flatMap((e) => e.files)]) {
      check(files.includes(file), `the tarball is missing ${file}`);
    }
    for (const map of files.filter((f) => f.endsWith('.map'))) {
      const { sources, sourcesContent = [] } = JSON.parse(readFileSync(join(root, map), 'utf8'));
      check(
        sources.every((_, i) => typeof sourcesContent[i] === 'string'),
        `${map} points at sources the tarball does not hold; embed them (inlineSources)`,
      );
    }
    console.log(`${files.length} files: ${ALWAYS_SHIPPED.join(', ')}, docs/ and dist/`);

    rmSync(consumer, { recursive: true, force: true });
    mkdirSync(installed, { recursive: true });
    run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ private: true, type: 'module' }));

    console.log('\n# publint');
    const { messages, pkg } = await publint({ pkgDir: installed, pack: false, strict: true });
    for (const message of messages) check(false, `publint: ${formatMessage(message, pkg, { color: false })}`);
    console.log(`${messages.length} messages`);

    console.log('\n# are the types wrong?');
    // ESM only: CommonJS code on Node.js 20.19 or newer require()s it (the README's `commonjs` block proves it).
    // Every resolution else, node10 too (`moduleResolution: "node"`), whose subpaths `typesVersions` types.
    run('npx', ['--no-install', 'attw', tarball, '--ignore-rules', 'cjs-resolves-to-esm', '--format', 'table-flipped', '--no-color']);

    console.log('\n# Node ESM');
    const prefix = `file://${installed}/`;
    for (const { specifier, isJson } of entries) {
      const load = isJson ? `(await import(s, { with: { type: 'json' } })).default` : 'await import(s)';
      const script = `
        const s = ${JSON.stringify(specifier)};
        const url = import.meta.resolve(s);
        if (!url.startsWith(${JSON.stringify(prefix)})) throw new Error(s + ' resolved to ' + url);
        const names = Object.keys(${load});
        if (names.length === 0) throw new Error(s + ' has no exports');
        console.log(s, '->', url.slice(${prefix.length}) + ':', names.length, 'names');`;
      run('node', ['--input-type=module', '--eval', script], { cwd: consumer, label: `node: import('${specifier}')` });
    }

    console.log('\n# bundler (esbuild, browser platform)');
    const bundle = (contents) =>
      build({
        stdin: { contents, resolveDir: consumer, loader: 'js' },
        bundle: true,
        platform: 'browser',
        format: 'esm',
        write: false,
        logLevel: 'silent',
      });
    for (const { specifier } of code) {
      const { warnings, outputFiles } = await bundle(`export * from ${JSON.stringify(specifier)};`);
      check(warnings.length === 0, `esbuild warns when bundling ${specifier}: ${warnings.map((w) => w.text).join('; ')}`);
      console.log(`${specifier}: ${outputFiles[0].text.length} bytes`);
    }
    const shaken = await bundle(`import { traceIdToGuid } from ${JSON.stringify(manifest.name)}; traceIdToGuid('');`);
    check(
      !shaken.outputFiles[0].text.includes('class CifSpanExporter'),
      'importing traceIdToGuid alone should leave CifSpanExporter out of the bundle (sideEffects: false)',
    );

    console.log('\n# TypeScript');
    writeFileSync(
      join(consumer, 'imports.ts'),
      code.map(({ specifier }, i) => `import * as entry${i} from ${JSON.stringify(specifier)};\n`).join('') +
        `export const entries: object[] = [${code.map((_, i) => `entry${i}`).join(', ')}];\n`,
    );
    for (const [moduleResolution, module] of [
      ['Bundler', 'ESNext'],
      ['Node16', 'Node16'],
      // `"node"`, which older projects still set (deprecated in TypeScript 6): the subpaths' types come from `typesVersions`.
      ['Node10', 'ESNext'],
    ]) {
      const tsconfig = join(consumer, `tsconfig.${moduleResolution.toLowerCase()}.json`);
      // No @types: the declarations must stand on their own in a browser project.
      const compilerOptions = { module, moduleResolution, target: 'ES2022', lib: ['ES2022', 'DOM'], types: [] };
      if (moduleResolution === 'Node10') compilerOptions.ignoreDeprecations = '6.0';
      Object.assign(compilerOptions, { strict: true, noEmit: true, skipLibCheck: false, skipDefaultLibCheck: true });
      writeFileSync(tsconfig, JSON.stringify({ compilerOptions, files: ['imports.ts'] }));
      typecheck(tsconfig);
    }
  } finally {
    rmSync(consumer, { recursive: true, force: true });
  }

  if (failures.length > 0) throw new Error(`Package checks failed:\n- ${failures.join('\n- ')}`);
  console.log('\nPackage checks passed.');
}

/**
 * What the README, the registry page, would show broken: a relative link to a file the tarball
 * does not hold, or an image by a relative path, which the registry does not serve.
 */
function docLinkProblems(files) {
  const problems = [];
  for (const doc of files.filter((file) => file === 'README.md' || file.startsWith('docs/'))) {
    if (!doc.endsWith('.md')) continue;
    const text = readFileSync(join(root, doc), 'utf8');
    for (const [, bang, target] of text.matchAll(/(!?)\[[^\]]*\]\(([^)\s]+)\)/g)) {
      if (/^(?:[a-z]+:|#)/i.test(target)) continue;
      const path = posix.normalize(posix.join(posix.dirname(doc), target.split('#')[0]));
      if (bang) problems.push(`${doc} shows the image ${target} by a relative path; the registry page cannot`);
      else if (!files.includes(path)) problems.push(`${doc} links to ${target}, which the tarball does not hold`);
    }
  }
  return problems;
}

if (isMain(import.meta.url)) await withPackedPackage(checkPackage);
