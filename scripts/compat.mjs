// Installs the packed package into each project under test/compat/ (one per OpenTelemetry JS
// line, each with its own lockfile), then type-checks it against that line's SDK types and runs
// the shared end-to-end scenario there, on the Node.js version the project's `engines` asks for.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_22, envWithNode } from './node-binary.mjs';
import { isMain, manifest, root, run, typecheck, withPackedPackage } from './pack.mjs';

/** npm's flags for an install that prints only errors. */
export const QUIET = ['--no-audit', '--no-fund', '--loglevel=error'];

/** Throws when a compatibility project fails to install, type-check or pass its scenario. */
export function runCompat({ tarball }) {
  const compat = join(root, 'test', 'compat');
  const fixtures = readdirSync(compat, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(compat, entry.name, 'package-lock.json')))
    .map((entry) => join(compat, entry.name));
  if (fixtures.length === 0) throw new Error(`no compatibility projects under ${compat}`);

  for (const fixture of fixtures) {
    const env = needsNode22(fixture) ? envWithNode(NODE_22) : process.env;
    console.log(`\n# ${fixture.slice(root.length)}, Node.js ${run('node', ['--version'], { env, capture: true }).trim()}`);
    run('npm', ['ci', ...QUIET], { cwd: fixture, env });
    // Not saved: the tarball's integrity changes with every build, the lockfile must not.
    run('npm', ['install', '--no-save', ...QUIET, tarball], { cwd: fixture, env });

    const modules = join(fixture, 'node_modules');
    if (!existsSync(join(modules, manifest.name, 'package.json'))) throw new Error(`${manifest.name} is not installed`);
    // One copy of the API for the page and the exporter, as the peer dependencies promise.
    const apis = findPackages(modules, '@opentelemetry/api');
    if (apis.length !== 1) throw new Error(`expected one @opentelemetry/api, found:\n${apis.join('\n')}`);

    typecheck(join(fixture, 'tsconfig.json'));
    run('node', ['--test', '--test-reporter=spec', 'scenario.test.mjs'], { cwd: fixture, env });
  }
  console.log(`\nCompatibility checks passed in ${fixtures.length} projects.`);
}

/** Whether the project at `fixture` asks for Node.js 22 (`engines.node` of `>=22...`). */
function needsNode22(fixture) {
  const { engines } = JSON.parse(readFileSync(join(fixture, 'package.json'), 'utf8'));
  return /^>=\s*22\b/.test(engines?.node ?? '');
}

/** Every copy of package `name` installed under the node_modules folder `modules`, nested ones too. */
export function findPackages(modules, name) {
  const found = existsSync(join(modules, name, 'package.json')) ? [join(modules, name)] : [];
  if (!existsSync(modules)) return found;
  for (const entry of readdirSync(modules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === '.bin') continue;
    const packages = entry.name.startsWith('@')
      ? readdirSync(join(modules, entry.name)).map((scoped) => join(modules, entry.name, scoped))
      : [join(modules, entry.name)];
    for (const dir of packages) found.push(...findPackages(join(dir, 'node_modules'), name));
  }
  return found;
}

if (isMain(import.meta.url)) await withPackedPackage(runCompat);
