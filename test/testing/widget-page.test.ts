// opentelemetry-exporter-cif/testing beside what a widget and its page do: a payload object
// changed after its call, data JSON cannot write, a CIFramework that is a function, a
// dispatchEvent that throws (docs/browser.md, "Testing outside Dynamics 365").
import { expect } from 'chai';
import type { CifAnalyticsData } from '../../src/index.js';
import { RecordingCifClient, formatCifCall, installFakeCIFramework, type FakeCIFramework } from '../../src/testing/index.js';

type Host = { Microsoft?: { CIFramework?: Record<string, unknown> } };

const data = (kpiEventName: string): CifAnalyticsData => ({
  conversationId: 'conv-1',
  providerSessionId: 'prov-1',
  events: [{ kpiEventName, eventTimestamp: '2026-11-25T10:15:30.123Z' }],
});

describe('opentelemetry-exporter-cif/testing in a widget and its page', () => {
  let fake: FakeCIFramework | undefined;
  afterEach(() => {
    fake?.uninstall();
    fake = undefined;
  });

  it('keeps each call as the client received it, when the widget changes its payload object after the call, as a host that copies it at the call would', async () => {
    const target = new EventTarget() as EventTarget & Host;
    fake = installFakeCIFramework(target);
    const cif = target.Microsoft!.CIFramework as unknown as RecordingCifClient;
    // One payload object, reused for each call, as a widget that keeps its identity fields does.
    const payload = data('CallAccepted');
    await cif.logAnalyticsEvent(payload, 'CallAccepted');
    payload.events[0]!.kpiEventName = 'CallEnded';
    await cif.logAnalyticsEvent(payload, 'CallEnded');
    expect(fake.client.payloads().map((p) => p.events[0]!.kpiEventName)).to.deep.equal(['CallAccepted', 'CallEnded']);
  });

  /** An object with no prototype that holds itself: JSON cannot write it, nor String() read it. */
  const bare = (): object => {
    const value = Object.create(null) as { self?: unknown };
    value.self = value;
    return value;
  };
  [
    { what: 'holds itself', make: () => Object.assign(data('CallHold'), { self: undefined as unknown }), line: '  self               [object Object]' },
    { what: 'holds a bigint', make: () => ({ ...data('CallHold'), participantId: 7n }), line: '  participantId      7' },
  ].forEach(({ what, make, line }) =>
    it(`prints a call whose data ${what} without failing, and so does not fail the call through the docs' onCall`, async () => {
      const payload = make() as CifAnalyticsData & { self?: unknown };
      if ('self' in payload) payload.self = payload;
      const printed: string[] = [];
      const client = new RecordingCifClient({ onCall: (call, index) => void printed.push(formatCifCall(call, index)) });
      const target = new EventTarget() as EventTarget & Host;
      fake = installFakeCIFramework(target, client);
      const cif = target.Microsoft!.CIFramework as unknown as RecordingCifClient;
      expect(await cif.logAnalyticsEvent(payload, 'CallHold').catch((error: unknown) => error)).to.equal('ok');
      expect(printed).to.have.length(1);
      expect(printed[0]!.split('\n')).to.include(line);
    }),
  );

  it('prints a field that JSON cannot write nor String() read, an object without a prototype that holds itself', () => {
    const printed = formatCifCall({ data: { ...data('CallHold'), participantId: bare() as never }, eventName: 'CallHold', correlationId: undefined });
    expect(printed.split('\n')).to.include('  participantId      [object Object]');
  });

  it('keeps the members of a Microsoft.CIFramework that is a function reachable while installed, as it does for an object', async () => {
    const getMode = () => 1;
    const library = Object.assign(function CIFramework() {}, { getMode });
    const target = new EventTarget() as EventTarget & Host;
    target.Microsoft = { CIFramework: library as never };
    fake = installFakeCIFramework(target);
    expect(target.Microsoft.CIFramework!['getMode']).to.equal(getMode);
  });

  it('throws what dispatching CIFInitDone throws, leaving the target as it was', () => {
    const target = new EventTarget() as EventTarget & Host;
    target.dispatchEvent = () => {
      throw new Error('a page wrapper of dispatchEvent with a bug');
    };
    expect(() => installFakeCIFramework(target)).to.throw(Error, 'a page wrapper of dispatchEvent with a bug');
    expect(Object.prototype.hasOwnProperty.call(target, 'Microsoft')).to.equal(false);
  });
});
