// Installs the packed package into test/bundlers/ (its own lockfile, without install scripts) beside
// the page's OpenTelemetry packages, then bundles a widget there with each bundler docs/browser.md
// names and runs each bundle in Chromium (test/bundlers/bundlers.test.mjs).
import { join } from 'node:path';
import { QUIET } from './compat.mjs';
import { isMain, root, run, withPackedPackage } from './pack.mjs';

/** Throws when the project fails to install, a bundler fails to bundle, or a bundle fails its checks. */
export function runBundlers({ tarball }) {
  const project = join(root, 'test', 'bundlers');
  console.log(`\n# ${project.slice(root.length)}`);
  // The bundlers' native parts come as optional dependencies: no install script has to run.
  run('npm', ['ci', '--ignore-scripts', ...QUIET], { cwd: project });
  // Not saved: the tarball's integrity changes with every build, the lockfile must not.
  run('npm', ['install', '--no-save', '--ignore-scripts', ...QUIET, tarball], { cwd: project });
  run('node', ['--import', 'tsx', '--test', '--test-reporter=spec', 'bundlers.test.mjs'], { cwd: project });
}

if (isMain(import.meta.url)) await withPackedPackage(runBundlers);
