// Every check of the package as published, from one build and one tarball: its contents and
// entry points, the compatibility projects, the bundlers, and the README's install lines and code blocks.
import { runBundlers } from './bundlers.mjs';
import { checkPackage } from './check-package.mjs';
import { runCompat } from './compat.mjs';
import { withPackedPackage } from './pack.mjs';
import { proveReadme } from './readme.mjs';

await withPackedPackage(async (packed) => {
  await checkPackage(packed);
  runCompat(packed);
  runBundlers(packed);
  proveReadme(packed);
});
