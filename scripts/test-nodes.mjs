// `npm run test:nodes`: the unit tests again on the newer Node.js lines the README supports (22,
// 24, 26), taken from the npm registry as the README checks take them: a test or a page-global
// check that leans on one line's globals (Web Locks, Web Storage) fails here.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { NODE_22, NODE_NEWER, envWithNode } from './node-binary.mjs';
import { root } from './pack.mjs';

for (const version of [NODE_22, ...NODE_NEWER]) {
  console.log(`\n# unit tests on Node.js ${version}`);
  const mocha = join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
  const { status, error } = spawnSync('node', [mocha], { cwd: root, env: envWithNode(version), stdio: 'inherit' });
  if (error) throw error;
  if (status !== 0) process.exit(status ?? 1);
}
