// Mocha 12 ships its CLI internals as `.cjs` files, which @stryker-mutator/mocha-runner 10.0
// requires without an extension (stryker-mutator/stryker-js#6205). Letting `require` also try
// `.cjs` makes them resolve. Loaded only by `npm run test:mutation`.
import Module from 'node:module';

Module._extensions['.cjs'] ??= Module._extensions['.js'];
