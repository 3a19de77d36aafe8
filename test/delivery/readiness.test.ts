import { DiagLogLevel, diag } from '@opentelemetry/api';
import { expect } from 'chai';
import { CIF_INIT_DONE_EVENT, createReadiness as create, pageCifClient, type CifReadiness } from '../../src/delivery/readiness.js';
import { captureDiag } from '../helpers/diag.js';
import { RecordingCifClient, installFakeCIFramework, type FakeCIFramework } from '../../src/testing/index.js';
import { pageWindow, removePageCif } from '../helpers/fake-client.js';

/** An event target that counts its listeners. */
function windowLike() {
  const target = new EventTarget();
  let listeners = 0;
  return {
    addEventListener(type: string, listener: () => void) {
      listeners++;
      target.addEventListener(type, listener);
    },
    removeEventListener(type: string, listener: () => void) {
      listeners--;
      target.removeEventListener(type, listener);
    },
    fire: () => target.dispatchEvent(new Event(CIF_INIT_DONE_EVENT)),
    listeners: () => listeners,
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('CifReadiness', () => {
  const fakes: FakeCIFramework[] = [];
  /** Starts a fake CIF library on the page; `globalThis` in Node raises no CIFInitDone. */
  function installCif(): FakeCIFramework {
    const fake = installFakeCIFramework(globalThis);
    fakes.push(fake);
    return fake;
  }
  const made: CifReadiness[] = [];
  /** `createReadiness`, disposed after the test, so that nothing a test made listens on. */
  function createReadiness(...args: Parameters<typeof create>): CifReadiness {
    const readiness = create(...args);
    made.push(readiness);
    return readiness;
  }
  afterEach(() => {
    made.splice(0).forEach((readiness) => readiness.dispose());
    fakes.splice(0).forEach((fake) => fake.uninstall());
    removePageCif();
  });

  it('is ready at once with an explicit client', () => {
    let changes = 0;
    const readiness = createReadiness({ client: new RecordingCifClient() }, () => changes++);
    expect(readiness.current()).to.equal('ready');
    expect(changes).to.equal(0);
  });

  it('does not listen for CIFInitDone on the page with an explicit client', () => {
    const page = pageWindow();
    try {
      const readiness = createReadiness({ client: new RecordingCifClient() }, () => {});
      expect(readiness.current()).to.equal('ready');
      expect(page.listeners(CIF_INIT_DONE_EVENT)).to.equal(0);
    } finally {
      page.restore();
    }
  });

  it('waits for the ready promise, then says so once', async () => {
    let resolve!: () => void;
    let changes = 0;
    const readiness = createReadiness({ ready: new Promise<void>((r) => (resolve = r)) }, () => changes++);
    await tick();
    expect(readiness.current()).to.equal('waiting');
    resolve();
    await tick();
    expect(readiness.current()).to.equal('ready');
    expect(changes).to.equal(1);
  });

  const rejections: Array<[string, unknown, string]> = [
    ['an Error', new Error('no provider'), 'no provider'],
    ['a Map holding message', new Map([['message', 'CIF init failed']]), 'CIF init failed'],
    ['a string', 'blocked', 'blocked'],
  ];
  rejections.forEach(([what, reason, message]) =>
    it(`fails with "CIF library not loaded" when the ready promise rejects with ${what}`, async () => {
      let changes = 0;
      const readiness = createReadiness({ ready: Promise.reject(reason) }, () => changes++);
      await tick();
      expect(readiness.current()).to.equal('failed');
      expect(changes).to.equal(1);
      const error = readiness.error(20000);
      expect(error.name).to.equal('CifNotLoadedError');
      expect(error.message).to.equal(`CIF library not loaded: the ready promise rejected: ${message}`);
    }),
  );

  it('does not take the page library as ready on a last chance when the page passed a ready promise', async () => {
    installCif();
    const readiness = createReadiness({ ready: new Promise(() => {}) }, () => {});
    expect(readiness.current()).to.equal('waiting');
    expect(readiness.lastChance()).to.equal(false);
    expect(readiness.error(500).message).to.equal('CIF library not loaded: the ready promise did not resolve within 500 ms');
  });

  it('becomes ready when the page raises CIFInitDone, and stops listening', () => {
    const target = windowLike();
    let changes = 0;
    const readiness = createReadiness({ target }, () => changes++);
    expect(target.listeners()).to.equal(1);
    expect(readiness.current()).to.equal('waiting');
    target.fire();
    expect(readiness.current()).to.equal('ready');
    expect(changes).to.equal(1);
    expect(target.listeners()).to.equal(0);
  });

  it('is ready at the first look when Microsoft.CIFramework is already on the page, and listens on, unconfirmed, until it is confirmed', () => {
    const target = windowLike();
    installCif();
    const readiness = createReadiness({ target }, () => {});
    expect(readiness.current()).to.equal('ready');
    expect(target.listeners()).to.equal(1);
    expect(readiness.unready(), 'a failure before confirmation taken as the library still starting').to.equal(true);
    readiness.confirm();
    expect(target.listeners()).to.equal(0);
    expect(readiness.unready(), 'a failure taken as the library still starting').to.equal(false);
    expect(readiness.current()).to.equal('ready');
  });

  it('does not take a library that appears after the first look as ready before its CIFInitDone', () => {
    const target = windowLike();
    const readiness = createReadiness({ target }, () => {});
    expect(readiness.current()).to.equal('waiting');
    installCif();
    expect(readiness.current()).to.equal('waiting');
    target.fire();
    expect(readiness.current()).to.equal('ready');
  });

  it('takes the library as ready on a last chance, even without its event', () => {
    const readiness = createReadiness({ target: windowLike() }, () => {});
    expect(readiness.current()).to.equal('waiting');
    expect(readiness.lastChance()).to.equal(false);
    expect(readiness.error(20000).message).to.equal(
      'CIF library not loaded: no CIFInitDone event and no Microsoft.CIFramework.logAnalyticsEvent within 20000 ms',
    );
    installCif();
    expect(readiness.lastChance()).to.equal(true);
    expect(readiness.current()).to.equal('ready');
  });

  it('waits without listening where there is no window, as in Node', () => {
    const readiness = createReadiness({ target: {} }, () => {});
    expect(readiness.current()).to.equal('waiting');
  });

  it('ignores events and promise outcomes after dispose', async () => {
    const target = windowLike();
    let changes = 0;
    const readiness = createReadiness({ target }, () => changes++);
    readiness.dispose();
    expect(target.listeners()).to.equal(0);
    target.fire();
    let resolve!: () => void;
    const promised = createReadiness({ ready: new Promise<void>((r) => (resolve = r)) }, () => changes++);
    promised.dispose();
    resolve();
    await tick();
    expect(changes).to.equal(0);
  });

  it('leaves no unhandled rejection when the ready promise settles after dispose', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let resolve!: () => void;
      createReadiness({ ready: new Promise<void>((r) => (resolve = r)) }, () => {}).dispose();
      resolve();
      await tick();
      await tick();
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  const halfTargets: Array<[what: string, target: Record<string, () => void>]> = [
    ['can add a listener but not remove it', { addEventListener: () => {} }],
    ['can remove a listener but not add it', { removeEventListener: () => {} }],
  ];
  halfTargets.forEach(([what, target]) =>
    it(`waits without listening on a target that ${what}`, () => {
      const calls: string[] = [];
      for (const key of Object.keys(target)) target[key] = () => calls.push(key);
      const readiness = createReadiness({ target }, () => {});
      expect(readiness.current()).to.equal('waiting');
      readiness.dispose();
      expect(calls).to.deep.equal([]);
    }),
  );

  it('finds Microsoft.CIFramework only when it has logAnalyticsEvent', () => {
    expect(pageCifClient()).to.equal(undefined);
    (globalThis as Record<string, unknown>)['Microsoft'] = { CIFramework: {} };
    expect(pageCifClient()).to.equal(undefined);
    const { client } = installCif();
    const found = pageCifClient();
    expect(found).to.equal((globalThis as { Microsoft?: { CIFramework?: unknown } }).Microsoft!.CIFramework);
    void found!.logAnalyticsEvent('{}', 'A');
    expect(client.calls.map((c) => c.eventName)).to.deep.equal(['A']);
  });

  it('reads a Microsoft global whose getter throws as no library', () => {
    Object.defineProperty(globalThis, 'Microsoft', { get: () => { throw new Error('page trap'); }, configurable: true });
    expect(pageCifClient()).to.equal(undefined);
  });

  it('goes back to waiting when an unconfirmed library fails a call, and only CIFInitDone makes it ready again', () => {
    const target = windowLike();
    installCif();
    let changes = 0;
    const readiness = createReadiness({ target }, () => changes++);
    expect(readiness.current()).to.equal('ready');
    expect(readiness.unready()).to.equal(true);
    expect(readiness.current()).to.equal('waiting');
    // The library is there, so a wait that runs out may call it, but not every call at once.
    expect(readiness.lastChance()).to.equal(true);
    expect(readiness.current()).to.equal('waiting');
    target.fire();
    expect(readiness.current()).to.equal('ready');
    expect(changes).to.equal(1);
    expect(readiness.unready(), 'a failure taken as the library still starting').to.equal(false);
    expect(readiness.current()).to.equal('ready');
  });

  it('never goes back to waiting with an explicit client or a ready promise', async () => {
    const client = createReadiness({ client: new RecordingCifClient() }, () => {});
    expect(client.unready()).to.equal(false);
    expect(client.current()).to.equal('ready');
    const promised = createReadiness({ ready: Promise.resolve() }, () => {});
    await tick();
    expect(promised.unready()).to.equal(false);
    expect(promised.current()).to.equal('ready');
  });

  it('warns once, where there is no window and no library, that no CIFInitDone event can come', () => {
    const messages = captureDiag();
    try {
      createReadiness({ target: {} }, () => {});
      expect(messages).to.have.length(1);
      expect(messages[0]).to.match(/^opentelemetry-exporter-cif No window, so no CIFInitDone: pass a `client` or `ready` option$/);
      installCif();
      createReadiness({ target: {} }, () => {});
      createReadiness({ target: windowLike() }, () => {});
      expect(messages).to.have.length(1);
    } finally {
      diag.disable();
    }
  });

  [
    { what: 'neither listener method', target: {} },
    { what: 'removeEventListener alone', target: { removeEventListener: () => {} } },
    { what: 'addEventListener alone', target: { addEventListener: () => {} } },
  ].forEach(({ what, target }) =>
    it(`takes a target with ${what} for no window, listening on nothing and warning that no CIFInitDone event can come`, () => {
      const messages = captureDiag();
      try {
        createReadiness({ target }, () => {});
      } finally {
        diag.disable();
      }
      expect(messages).to.deep.equal(['opentelemetry-exporter-cif No window, so no CIFInitDone: pass a `client` or `ready` option']);
    }),
  );

  it('does not throw when the page takes its removeEventListener away', () => {
    const target = windowLike();
    const readiness = createReadiness({ target }, () => {});
    (target as { removeEventListener?: unknown }).removeEventListener = undefined;
    expect(() => readiness.dispose()).not.to.throw();
  });

  it('says at DEBUG level that CIFInitDone was received', () => {
    const messages: string[] = [];
    const keep = (...args: unknown[]) => messages.push(args.map(String).join(' '));
    diag.setLogger({ error: keep, warn: keep, info: keep, debug: keep, verbose: keep }, { logLevel: DiagLogLevel.DEBUG, suppressOverrideMessage: true });
    try {
      const target = windowLike();
      createReadiness({ target }, () => {});
      target.fire();
      expect(messages.filter((m) => m.startsWith('opentelemetry-exporter-cif'))).to.deep.equal(['opentelemetry-exporter-cif CIFInitDone received']);
    } finally {
      diag.disable();
    }
  });

  it('confirms, without saying so again, when CIFInitDone comes after the library was taken as ready at the first look', () => {
    const target = windowLike();
    installCif();
    let changes = 0;
    const readiness = createReadiness({ target }, () => changes++);
    expect(readiness.current()).to.equal('ready');
    target.fire();
    expect([readiness.current(), changes]).to.deep.equal(['ready', 0]);
    expect(readiness.unready(), 'a failure taken as the library still starting').to.equal(false);
    expect(readiness.current()).to.equal('ready');
  });

  it('ignores a CIFInitDone that reaches a listener the page would not let go of after dispose', () => {
    let listener: (() => void) | undefined;
    const target = {
      addEventListener: (_type: string, added: () => void) => (listener = added),
      removeEventListener: () => {
        throw new Error('page trap');
      },
    };
    let changes = 0;
    createReadiness({ target }, () => changes++).dispose();
    expect(() => listener!()).not.to.throw();
    expect(changes).to.equal(0);
  });

  it('stays ready when the ready promise rejects after the host answered a call', async () => {
    let reject!: (reason: unknown) => void;
    let changes = 0;
    const readiness = createReadiness({ ready: new Promise((_, r) => (reject = r)) }, () => changes++);
    readiness.confirm();
    reject(new Error('late'));
    await tick();
    expect([readiness.current(), changes]).to.deep.equal(['ready', 0]);
  });

  it('ignores unready() while still waiting, so a last chance still takes the library as ready', () => {
    const readiness = createReadiness({ target: windowLike() }, () => {});
    expect(readiness.current()).to.equal('waiting');
    expect(readiness.unready()).to.equal(true);
    installCif();
    expect(readiness.lastChance()).to.equal(true);
    expect(readiness.current()).to.equal('ready');
  });

  it('answers a last chance with false when no call goes without CIFInitDone: a client, a resolved ready promise, or no page library', async () => {
    const client = createReadiness({ client: new RecordingCifClient() }, () => {});
    const promised = createReadiness({ ready: Promise.resolve() }, () => {});
    await tick();
    const page = createReadiness({ target: windowLike() }, () => {});
    expect([client.lastChance(), promised.lastChance(), page.lastChance()]).to.deep.equal([false, false, false]);
    expect([client.current(), promised.current()]).to.deep.equal(['ready', 'ready']);
  });

  it('describes what the ready promise rejected with as the page\'s, not as a host rejection', async () => {
    const readiness = createReadiness({ ready: Promise.reject({ code: 'NO_CIF' }) }, () => {});
    await tick();
    expect(readiness.error(1).message).to.equal('CIF library not loaded: the ready promise rejected: {"code":"NO_CIF"}');
  });

  it('fails readably when the ready promise rejects with a value that cannot be read', async () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const readiness = createReadiness({ ready: Promise.reject(revoked.proxy) }, () => {});
    await tick();
    expect(readiness.current()).to.equal('failed');
    expect(readiness.error(1).message).to.equal(
      'CIF library not loaded: the ready promise rejected: a value that cannot be read',
    );
  });

  it('fails, and does not throw, when the ready promise\'s constructor cannot be read', async () => {
    const ready = Promise.resolve();
    Object.defineProperty(ready, 'constructor', {
      get() {
        throw new Error('hostile constructor');
      },
    });
    const readiness = createReadiness({ ready }, () => {});
    await tick();
    expect(readiness.current()).to.equal('failed');
    expect(readiness.error(1).message).to.equal('CIF library not loaded: the ready promise rejected: hostile constructor');
  });
});
