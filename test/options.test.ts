import { expect } from 'chai';
import { CifSpanExporter, type CifSpanExporterOptions } from '../src/index.js';
import { DEFAULT_OPTIONS, normalizeOptions } from '../src/options.js';

describe('options', () => {
  it('fills in every default', () => {
    const options = normalizeOptions();
    expect(options).to.include({
      maxEventsPerCall: 1,
      dataFormat: 'object',
      eventFilter: DEFAULT_OPTIONS.eventFilter,
      eventName: DEFAULT_OPTIONS.eventName,
      correlationId: DEFAULT_OPTIONS.correlationId,
    });
    expect(options.session).to.deep.equal({});
    expect(options.customAttributes).to.deep.equal([]);
  });

  it('looks the default client up on the page at call time, not at construction', () => {
    const options = normalizeOptions();
    expect(options.getClient()).to.equal(undefined);
    const cif = { logAnalyticsEvent: () => Promise.resolve('') };
    (globalThis as Record<string, unknown>)['Microsoft'] = { CIFramework: cif };
    try {
      expect(options.getClient()).to.equal(cif);
    } finally {
      delete (globalThis as Record<string, unknown>)['Microsoft'];
    }
  });

  const bad: Array<[string, CifSpanExporterOptions, RegExp]> = [
    ['a client without logAnalyticsEvent', { client: {} as never }, /`client` must have a logAnalyticsEvent/],
    ['maxEventsPerCall of 0', { maxEventsPerCall: 0 }, /`maxEventsPerCall` must be a whole number of at least 1 \(got 0\)/],
    ['a fractional maxEventsPerCall', { maxEventsPerCall: 1.5 }, /`maxEventsPerCall`/],
    ['an unknown dataFormat', { dataFormat: 'xml' as never }, /`dataFormat` must be 'object' or 'json' \(got 'xml'\)/],
    ['a session id longer than its column', { session: { conversationId: 'c'.repeat(101) } }, /`session.conversationId` must be at most 100 characters/],
    ['a session id that is not a string', { session: { participantId: 7 as never } }, /`session.participantId` must be a string/],
    ['a custom column that is not a column name', { customAttributes: { 'call.queue': '__proto__' } }, /`customAttributes\['call.queue'\]` must be a column logical name/],
    ['a custom mapping from a cif. attribute', { customAttributes: { 'cif.kpi.reason': 'msdyn_customattribute1' } }, /outside the cif. namespace/],
    ['an eventFilter that is not a function', { eventFilter: 'all' as never }, /`eventFilter` must be a function/],
    ['an eventName that is not a function', { eventName: 1 as never }, /`eventName` must be a function/],
    ['a correlationId that is not a function', { correlationId: 'abc' as never }, /`correlationId` must be a function/],
  ];
  bad.forEach(([what, options, message]) =>
    it(`rejects ${what} in the constructor with a message that says what to change`, () => {
      expect(() => new CifSpanExporter(options)).to.throw(TypeError, message);
    }),
  );
});
