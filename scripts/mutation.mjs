// `npm run test:mutation`: StrykerJS over src/ (stryker.config.mjs). Stryker 10 needs Node 22
// or later; on an older Node the run uses the Node 22 the README checks run on (node-binary.mjs).
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NODE_22, nodeBinDir } from './node-binary.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const stryker = join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js');
const args = [stryker, 'run', ...process.argv.slice(2)];
const env = {
  ...process.env,
  // Every Stryker process, workers included, loads the shim that lets it find Mocha 12's CLI.
  NODE_OPTIONS: [process.env.NODE_OPTIONS, `--import ${pathToFileURL(join(root, 'scripts', 'mocha-cli-cjs.mjs')).href}`].filter(Boolean).join(' '),
};
const major = Number(process.versions.node.split('.')[0]);
const node = major >= 22 ? process.execPath : join(nodeBinDir(NODE_22), 'node');
const { status, error } = spawnSync(node, args, { cwd: root, env, stdio: 'inherit' });
if (error) throw error;
process.exit(status ?? 1);
