import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { expect } from 'chai';
import { getCifSession, withCifSession } from '../../src/index.js';
import { installFakeCIFramework } from '../../src/testing/index.js';

// docs/browser.md, "Testing outside Dynamics 365".
describe('installFakeCIFramework, as docs/browser.md describes it', () => {
  afterEach(() => context.disable());

  it('calls the handlers at once when fireEvent raises an event, in the context fireEvent is called in', () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const target = new EventTarget() as EventTarget & { Microsoft?: { CIFramework: Record<string, (...args: unknown[]) => unknown> } };
    const fake = installFakeCIFramework(target);
    const seen: unknown[] = [];
    target.Microsoft!.CIFramework['addHandler']!('onclicktoact', () => void seen.push(getCifSession()?.conversationId));
    withCifSession({ conversationId: 'conv-1', providerSessionId: 'prov-1' }, () => void fake.fireEvent('onclicktoact', {}));
    void fake.fireEvent('onclicktoact', {});
    expect(seen).to.deep.equal(['conv-1', undefined]);
    fake.uninstall();
  });

  it('defines addHandler, removeHandler, setPresence and getPresence in place of those already there, answering from the start', async () => {
    const page = () => Promise.resolve('the page');
    const target = { Microsoft: { CIFramework: { addHandler: page, removeHandler: page, setPresence: page, getPresence: page } as Record<string, (...args: unknown[]) => unknown> } };
    const fake = installFakeCIFramework(target, undefined, { startAfterMillis: 1_000_000 });
    const cif = target.Microsoft.CIFramework;
    try {
      let calls = 0;
      const handler = () => void calls++;
      await cif['addHandler']!('onmodechanged', handler);
      await fake.fireEvent('onmodechanged', 1);
      expect([calls, await cif['removeHandler']!('onmodechanged', handler)]).to.deep.equal([1, true]);
      expect([await cif['getPresence']!(), await cif['setPresence']!('Busy'), await cif['getPresence']!()]).to.deep.equal(['Available', true, 'Busy']);
    } finally {
      fake.uninstall();
    }
  });
});
