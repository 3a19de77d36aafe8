// Shared by the package checks and the compatibility run: pack the package exactly as
// `npm publish` would (its `prepack` script builds dist/), and type-check small projects that import it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Whether the module at `url` is the script node was started with. */
export function isMain(url) {
  return process.argv[1] !== undefined && url === pathToFileURL(process.argv[1]).href;
}

/** Runs a command, echoing it; its output goes to this process's unless `capture` is set. */
export function run(command, args, { cwd = root, env = process.env, capture = false, label = [command, ...args].join(' ') } = {}) {
  console.log(`$ ${label}${cwd === root ? '' : `   (in ${cwd})`}`);
  return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'inherit' });
}

/**
 * Packs the package into a fresh temporary directory, as from a fresh clone (no `dist/`: its
 * `prepack` script must build it), and hands the result to `use`.
 */
export async function withPackedPackage(use) {
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  const directory = mkdtempSync(join(tmpdir(), 'cif-pack-'));
  try {
    const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', directory], { capture: true }));
    const files = packed.files.map((f) => f.path);
    if (!files.includes(manifest.main.replace(/^\.\//, ''))) throw new Error(`npm pack shipped no ${manifest.main}: the prepack script must build dist/`);
    return await use({ tarball: join(directory, packed.filename), files });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/**
 * Every entry of the `exports` map: its import specifier (`pkg`, `pkg/testing`, ...) and the
 * files its conditions point at.
 */
export function exportedEntries() {
  return Object.entries(manifest.exports).map(([subpath, target]) => {
    if (subpath.includes('*')) throw new Error(`exports pattern ${subpath} is not covered by the package checks`);
    const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
    return { subpath, specifier, isJson: subpath.endsWith('.json'), files: leaves(target) };
  });
}

function leaves(target) {
  if (typeof target === 'string') return [target.replace(/^\.\//, '')];
  if (target === null) return [];
  return Object.values(target).flatMap(leaves);
}

/**
 * Type-checks the project of `tsconfig` (in this process, to spare a compiler start-up), then with
 * TypeScript 7, unless the project asks for what 7 no longer has (`"moduleResolution": "node10"`).
 */
export function typecheck(tsconfig) {
  console.log(`$ tsc -p ${tsconfig.startsWith(root) ? tsconfig.slice(root.length) : tsconfig}`);
  const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => failOnDiagnostics(tsconfig, [d]) };
  const config = ts.getParsedCommandLineOfConfigFile(tsconfig, undefined, host);
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  failOnDiagnostics(tsconfig, [...config.errors, ...ts.getPreEmitDiagnostics(program)]);
  if (config.options.moduleResolution !== ts.ModuleResolutionKind.Node10) typecheckWith7(tsconfig);
}

/** Type-checks `files` with compiler `options` in this process, then with TypeScript 7. */
export function typecheckFiles(what, files, options) {
  const named = `tsc ${files.map((f) => (f.startsWith(root) ? f.slice(root.length) : f)).join(' ')}`;
  console.log(`$ ${named}`);
  const program = ts.createProgram({ rootNames: files, options: ts.convertCompilerOptionsFromJson(options, root).options });
  failOnDiagnostics(what, ts.getPreEmitDiagnostics(program));
  // Beside the files, as TypeScript 7 takes the directory of the tsconfig for their root.
  const tsconfig = join(dirname(files[0]), 'tsconfig.typescript-7.json');
  try {
    writeFileSync(tsconfig, JSON.stringify({ compilerOptions: { ...options, noEmit: true }, files }));
    typecheckWith7(tsconfig, named);
  } finally {
    rmSync(tsconfig, { force: true });
  }
}

/**
 * Type-checks the project of `tsconfig` with TypeScript 7, the native compiler `npm i -D typescript`
 * installs since 7.0, through its command line (it has no stable API to call in this process).
 */
function typecheckWith7(tsconfig, named = `tsc -p ${tsconfig.startsWith(root) ? tsconfig.slice(root.length) : tsconfig}`) {
  run('node', [join(root, 'node_modules', 'typescript-7', 'bin', 'tsc'), '-p', tsconfig], { label: `${named} (TypeScript 7)` });
}

function failOnDiagnostics(what, diagnostics) {
  if (diagnostics.length === 0) return;
  const format = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  throw new Error(`${what} does not type-check:\n${ts.formatDiagnostics(diagnostics, format)}`);
}
