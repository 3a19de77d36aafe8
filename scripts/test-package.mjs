// Both checks of the package as published, from one build and one tarball.
import { checkPackage } from './check-package.mjs';
import { runCompat } from './compat.mjs';
import { withPackedPackage } from './pack.mjs';

await withPackedPackage(async (packed) => {
  await checkPackage(packed);
  runCompat(packed);
});
