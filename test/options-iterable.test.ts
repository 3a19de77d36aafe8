import { context, diag } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { expect } from 'chai';
import { CifSpanExporter, getCifSession, withCifSession } from '../src/index.js';
import { CifInstrumentation } from '../src/instrumentation.js';
import { RecordingCifClient } from '../src/testing/index.js';
import { captureDiag } from './helpers/diag.js';
import { shutDownAfterTest } from './helpers/shut-down.js';

/** Runs `fn` on a page whose library makes every object iterable over its entries, as some utility libraries do. */
function withIterableObjects<T>(fn: () => T): T {
  const had = Object.getOwnPropertyDescriptor(Object.prototype, Symbol.iterator);
  Object.defineProperty(Object.prototype, Symbol.iterator, {
    value: function* (this: object) {
      yield* Object.entries(this);
    },
    configurable: true,
    writable: true,
  });
  try {
    return fn();
  } finally {
    if (had) Object.defineProperty(Object.prototype, Symbol.iterator, had);
    else delete (Object.prototype as { [Symbol.iterator]?: unknown })[Symbol.iterator];
  }
}

describe('Options objects on pages that make objects iterable', () => {
  const contextManager = new AsyncLocalStorageContextManager();
  before(() => context.setGlobalContextManager(contextManager.enable()));
  after(() => context.disable());
  afterEach(() => diag.disable());

  it('takes an exporter its plain options on a page whose library adds Symbol.iterator to Object.prototype', () => {
    const client = new RecordingCifClient();
    let made: CifSpanExporter | undefined;
    withIterableObjects(() => {
      made = shutDownAfterTest(new CifSpanExporter({ client, outbox: false, retry: { maxAttempts: 1 } }));
    });
    expect(made).to.be.instanceOf(CifSpanExporter);
  });

  it('keeps the session of withCifSession on a page whose library adds Symbol.iterator to Object.prototype', () => {
    const warnings = captureDiag();
    const session = withIterableObjects(() => withCifSession({ conversationId: 'conv-42', providerSessionId: 'session-1' }, () => getCifSession()));
    expect({ session: { ...session }, warnings }).to.deep.equal({ session: { conversationId: 'conv-42', providerSessionId: 'session-1' }, warnings: [] });
  });

  it('takes CifInstrumentation its config on a page whose library adds Symbol.iterator to Object.prototype', () => {
    const target = new EventTarget();
    let made: CifInstrumentation | undefined;
    withIterableObjects(() => {
      made = new CifInstrumentation({ target, enabled: false });
    });
    expect(made?.getConfig().target).to.equal(target);
  });

  it("reads an options object that is iterable over its own entries, as a widget's settings class may be", () => {
    class Settings {
      outbox = false as const;
      timeoutMillis = 1_000;
      *[Symbol.iterator]() {
        yield* Object.entries(this);
      }
    }
    const client = new RecordingCifClient();
    // Its own fields are options like any other: only an array's indexes or a Map's entries are no named options.
    expect(() => shutDownAfterTest(new CifSpanExporter(Object.assign(new Settings(), { client })))).not.to.throw();
  });
});
