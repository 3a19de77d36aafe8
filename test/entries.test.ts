import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { build } from 'esbuild';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The type errors of `entries` against the ECMAScript library `lib` and the DOM, as a page of that language level offers them. */
function errorsAgainst(lib: string[], entries: string[]): string[] {
  const program = ts.createProgram(
    entries.map((entry) => join(ROOT, entry)),
    { target: ts.ScriptTarget.ES2020, lib: [...lib, 'lib.dom.d.ts'], module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, skipLibCheck: true, noEmit: true, types: [] },
  );
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName.slice(ROOT.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

// docs/browser.md: "The code is ES2020 but for the `cause` its errors are given (ES2022, which an
// older engine leaves out); `/instrumentation` also needs `WeakRef` (ES2021)."
describe('the language level docs/browser.md names', function () {
  this.timeout(60_000);
  // The `{ cause }` argument of an error's constructor, which an ES2020 engine ignores.
  const ERROR_CAUSE = 'lib.es2022.error.d.ts';

  it('uses nothing past ES2020 in the main entry, /logs and /testing, but the cause of an error', () => {
    expect(errorsAgainst(['lib.es2020.d.ts', ERROR_CAUSE], ['src/index.ts', 'src/logs.ts', 'src/testing/index.ts'])).to.deep.equal([]);
  });

  it('uses nothing past ES2020 in /instrumentation but WeakRef, of ES2021, and the cause of an error', () => {
    expect(errorsAgainst(['lib.es2020.d.ts', 'lib.es2021.weakref.d.ts', ERROR_CAUSE], ['src/instrumentation.ts'])).to.deep.equal([]);
    expect(errorsAgainst(['lib.es2020.d.ts', ERROR_CAUSE], ['src/instrumentation.ts']).filter((error) => !/'WeakRef'/.test(error))).to.deep.equal([]);
  });
});

// docs/instrumentation.md: the subpath is apart from the main entry, and needs no @opentelemetry/instrumentation.
describe('what each entry bundles', () => {
  it('bundles /instrumentation without @opentelemetry/instrumentation, and the main entry without the instrumentation', async () => {
    const inputs = async (entry: string) => {
      const { metafile } = await build({ entryPoints: [join(ROOT, entry)], absWorkingDir: ROOT, bundle: true, write: false, metafile: true, format: 'esm', platform: 'browser', logLevel: 'silent' });
      return Object.keys(metafile.inputs);
    };
    const instrumentation = await inputs('src/instrumentation.ts');
    expect(instrumentation.filter((path) => path.includes('node_modules/@opentelemetry/instrumentation/'))).to.deep.equal([]);
    expect(instrumentation).to.include('src/instrumentation/cif-instrumentation.ts');
    expect((await inputs('src/index.ts')).filter((path) => path.startsWith('src/instrumentation'))).to.deep.equal([]);
  });
});
