import { diag, DiagLogLevel, SpanStatusCode } from '@opentelemetry/api';
import { expect } from 'chai';
import { CifInstrumentation } from '../../src/instrumentation.js';
import { installFakeCIFramework } from '../../src/testing/index.js';
import { useTracedPage } from '../helpers/traced-page.js';

type Fn = (...args: unknown[]) => unknown;

describe('CifInstrumentation with thenables whose then throws, and a target that refuses listeners', () => {
  const page = useTracedPage();
  afterEach(() => diag.disable());

  // docs/instrumentation.md, "Spans": a call span ends "when its promise or thenable settles", and "a call that rejects
  // or throws" sets ERROR. A thenable whose `then` throws settles as rejected for every `await` and Promise.resolve().
  [
    { what: 'whose then throws', thenable: (reason: Error) => ({ then: () => { throw reason; } }) },
    { what: 'whose then getter throws', thenable: (reason: Error) => Object.defineProperty({}, 'then', { get: () => { throw reason; } }) },
  ].forEach(({ what, thenable }) =>
    it(`marks ERROR the span of a call that answers a thenable ${what}, as the widget's await rejects`, async () => {
      page.fake = installFakeCIFramework(page.target);
      const reason = new Error('host channel closed');
      page.cif().getEnvironment = () => thenable(reason);
      page.register();
      const answer = page.cif().getEnvironment!();
      expect(await Promise.resolve(answer).then(() => 'resolved', (error: unknown) => error)).to.equal(reason);
      const [span] = page.spans.getFinishedSpans();
      expect(span!.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'host channel closed' });
    }),
  );

  // docs/instrumentation.md: a handler added while traced is removed "also when the host failed the first removeHandler
  // (it threw, rejected or answered false)". A first removal whose answer is a thenable whose then throws rejects for the
  // widget, yet the registry reads it as done and forgets the wrapper: the widget's second removeHandler cannot reach it.
  it('removes the handler at a second removeHandler after the first answered a thenable whose then throws', async () => {
    const held = new Set<Fn>();
    let failNext = true;
    page.target.Microsoft = {
      CIFramework: {
        addHandler: (_event: unknown, handler: unknown) => void held.add(handler as Fn),
        removeHandler: (_event: unknown, handler: unknown) => {
          if (failNext) {
            failNext = false;
            return { then: () => { throw new Error('host busy'); } };
          }
          return Promise.resolve(held.delete(handler as Fn));
        },
      },
    };
    page.register();
    const cif = page.cif();
    let runs = 0;
    const handler = () => void runs++;
    cif.addHandler!('onclicktoact', handler);
    expect(await Promise.resolve(cif.removeHandler!('onclicktoact', handler)).then(() => 'removed', (error: Error) => error.message)).to.equal('host busy');
    await Promise.resolve(cif.removeHandler!('onclicktoact', handler));
    for (const fn of held) fn('{}');
    expect(runs).to.equal(0);
  });

  // On a target where no CIFInitDone listener can be added (no EventTarget, or one whose addEventListener throws),
  // nothing wraps the library when it arrives: the DEBUG trail says so, and when its calls are traced.
  it('says at DEBUG that it cannot listen for CIFInitDone, and that calls are traced from the next enable(), on a target that refuses listeners', async () => {
    const lines: string[] = [];
    const keep = (component: unknown, message: unknown) => void (component === 'opentelemetry-exporter-cif' && lines.push(String(message)));
    diag.setLogger({ error: keep, warn: keep, info: keep, debug: keep, verbose: () => {} }, { logLevel: DiagLogLevel.DEBUG, suppressOverrideMessage: true });
    const target = page.target as unknown as { addEventListener: unknown };
    target.addEventListener = () => {
      throw new Error('listeners refused');
    };
    page.register(new CifInstrumentation({ target: page.target }));
    page.fake = installFakeCIFramework(page.target); // dispatches CIFInitDone
    await (page.cif().setPresence as Fn)('Busy');
    // The call was not traced: nothing listened for the CIFInitDone the library raised.
    expect(page.spans.getFinishedSpans()).to.deep.equal([]);
    expect(lines).to.deep.equal([
      'cannot listen for CIFInitDone (listeners refused): Microsoft.CIFramework is traced once enable() finds it',
      'Microsoft.CIFramework is not on the page yet; its calls are traced from the next enable()',
    ]);
  });
});
