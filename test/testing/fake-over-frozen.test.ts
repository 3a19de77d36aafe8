// installFakeCIFramework over a CIFramework already on the target that takes no assignment, or refuses reflection.
import { expect } from 'chai';
import { installFakeCIFramework } from '../../src/testing/index.js';

describe('installFakeCIFramework over a Microsoft.CIFramework that takes no assignment', () => {
  /** A CIFramework a test or page already set, with a member of its own the fake must keep reachable. */
  const existing: Array<[what: string, make: () => object]> = [
    ['that is frozen, as a test double made with Object.freeze', () => Object.freeze({ logAnalyticsEvent: () => Promise.reject(new Error('the real host')), getEnvironment: () => 'env' })],
    ['that is frozen, with only the handler APIs the fake also defines', () => Object.freeze({ addHandler: () => {}, setPresence: async () => true, getEnvironment: () => 'env' })],
    [
      'that is a class instance whose logAnalyticsEvent is a getter',
      () =>
        new (class {
          get logAnalyticsEvent() {
            return () => Promise.reject(new Error('the real host'));
          }
          getEnvironment() {
            return 'env';
          }
        })(),
    ],
  ];
  existing.forEach(([what, make]) =>
    it(`installs over a CIFramework ${what}, answering with its client and keeping the other members reachable, and puts it back on uninstall`, async () => {
      const cif = make();
      const target: { Microsoft?: { CIFramework?: unknown } } = { Microsoft: { CIFramework: cif } };
      const fake = installFakeCIFramework(target);
      const installed = target.Microsoft!.CIFramework as { logAnalyticsEvent(...args: unknown[]): Promise<string>; getEnvironment(): string };
      expect(await installed.logAnalyticsEvent({ conversationId: 'c', providerSessionId: 'p', events: [] }, 'CallAccepted', 'id')).to.equal('ok');
      expect([fake.client.calls.length, installed.getEnvironment()]).to.deep.equal([1, 'env']);
      fake.uninstall();
      expect(target.Microsoft!.CIFramework).to.equal(cif);
    }),
  );
  // A test's strict double of the CIF library: a Proxy that refuses every reflective operation it was not written for.
  it('installs over a CIFramework that is a Proxy whose getPrototypeOf trap throws, and puts it back on uninstall', () => {
    const double = new Proxy(
      { getSession: async () => 'double' },
      {
        getPrototypeOf() {
          throw new Error('strict double: getPrototypeOf not expected');
        },
      },
    );
    const target = { Microsoft: { CIFramework: double as unknown } };
    const fake = installFakeCIFramework(target);
    expect(target.Microsoft.CIFramework).not.to.equal(double);
    fake.uninstall();
    expect(target.Microsoft.CIFramework).to.equal(double);
  });
});
